//! Classifier validation: top-1 and top-5 accuracy over the dataset, and top-1 per class.

use super::ClassMap;
use crate::dataset::Dataset;

/// Accuracy of a classifier on a class-folder dataset.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClassificationStats {
    /// Share of images whose most probable class is their label.
    pub top1: f64,
    /// Share of images whose label is among the five most probable classes.
    pub top5: f64,
    /// Top-1 accuracy per category id, sorted by id.
    pub per_class: Vec<ClassAccuracy>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClassAccuracy {
    pub category_id: u64,
    pub images: usize,
    pub top1: f64,
}

/// The model's class indices, most probable first (ties: lower index first, as `argsort` of
/// the negated scores would give).
pub fn ranked(probabilities: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]).then(a.cmp(&b)));
    order
}

/// Top-1/top-5 accuracy of `probabilities` (one vector per image, in dataset order). Images
/// without a class label are skipped; a class the dataset lacks never counts as correct.
pub fn evaluate(dataset: &Dataset, probabilities: &[Vec<f32>], classes: &ClassMap) -> ClassificationStats {
    let mut per_class: std::collections::BTreeMap<u64, (usize, usize)> =
        dataset.categories.iter().map(|c| (c.id, (0, 0))).collect();
    let (mut n, mut top1, mut top5) = (0usize, 0usize, 0usize);
    for (record, p) in dataset.images.iter().zip(probabilities) {
        let Some(label) = record.class_id else { continue };
        let order = ranked(p);
        let hit = |k: usize| order.iter().take(k).any(|&c| classes.category(c) == Some(label));
        n += 1;
        top1 += usize::from(hit(1));
        top5 += usize::from(hit(5));
        let entry = per_class.entry(label).or_default();
        entry.0 += 1;
        entry.1 += usize::from(hit(1));
    }
    let share = |k: usize, n: usize| if n == 0 { -1.0 } else { k as f64 / n as f64 };
    ClassificationStats {
        top1: share(top1, n),
        top5: share(top5, n),
        per_class: per_class
            .into_iter()
            .map(|(category_id, (images, hits))| ClassAccuracy { category_id, images, top1: share(hits, images) })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Category, ImageRecord};

    fn dataset(labels: &[u64]) -> Dataset {
        Dataset {
            images: labels
                .iter()
                .zip(1..)
                .map(|(&c, id)| ImageRecord {
                    id,
                    file_name: format!("{id}.png"),
                    path: "x".into(),
                    annotations: vec![],
                    class_id: Some(c),
                })
                .collect(),
            categories: ["a", "b", "c"].iter().zip(1..).map(|(n, id)| Category { id, name: n.to_string() }).collect(),
        }
    }

    #[test]
    fn counts_top1_top5_and_per_class() {
        let d = dataset(&[1, 2, 2, 3]);
        let classes = ClassMap::new(&["a".into(), "b".into(), "c".into()], &d);
        let p = vec![vec![0.8, 0.1, 0.1], vec![0.2, 0.7, 0.1], vec![0.6, 0.3, 0.1], vec![0.5, 0.4, 0.1]];
        let s = evaluate(&d, &p, &classes);
        assert_eq!((s.top1, s.top5), (0.5, 1.0));
        let per: Vec<(u64, usize, f64)> = s.per_class.iter().map(|c| (c.category_id, c.images, c.top1)).collect();
        assert_eq!(per, [(1, 1, 1.0), (2, 2, 0.5), (3, 1, 0.0)]);
    }

    #[test]
    fn ties_rank_the_lower_index_first() {
        assert_eq!(ranked(&[0.2, 0.4, 0.4]), [1, 2, 0]);
    }
}

//! COCO json files evaluated as pycocotools' `COCOeval(gt, dt, 'bbox')` does: the files are
//! read by `dataset::coco`, the numbers made by [`coco_eval`](super::coco_eval).

use std::path::Path;

use super::coco_eval::{self, CocoEvalError, CocoStats, Detection, EvalInput, GroundTruth};
use crate::dataset::coco::{self, CocoFile, CocoResult};
use crate::errors::CocoJsonError;

/// Evaluates a results file against an annotation file. The two files are read in parallel.
pub fn eval_files(gt: &Path, dt: &Path) -> Result<CocoStats, CocoJsonError> {
    let (truth, results) = rayon::join(|| coco::read_annotations(gt), || coco::read_results(dt));
    evaluate(&truth?, &results?, dt)
}

/// Evaluates loaded files; `dt_path` names the results file in errors.
pub fn evaluate(truth: &CocoFile, results: &[CocoResult], dt_path: &Path) -> Result<CocoStats, CocoJsonError> {
    let image_ids: Vec<u64> = truth.images.iter().map(|i| i.id).collect();
    let category_ids: Vec<u64> = truth.categories.iter().map(|c| c.id).collect();
    let ground_truth: Vec<GroundTruth> = truth
        .annotations
        .iter()
        .map(|a| GroundTruth {
            image_id: a.image_id,
            category_id: a.category_id,
            bbox: a.bbox,
            area: a.area,
            iscrowd: a.iscrowd,
        })
        .collect();
    let detections: Vec<Detection> = results
        .iter()
        .map(|r| Detection { image_id: r.image_id, category_id: r.category_id, bbox: r.bbox, score: r.score })
        .collect();
    let input = EvalInput {
        image_ids: &image_ids,
        category_ids: &category_ids,
        ground_truth: &ground_truth,
        detections: &detections,
    };
    coco_eval::evaluate(&input).map_err(|e| match e {
        CocoEvalError::UnknownImage { image_id, index } => CocoJsonError::Entry {
            path: dt_path.to_owned(),
            entry: format!("detections[{index}]"),
            message: format!("image_id {image_id} is not among the ground truth's `images`"),
            help: Some("evaluate against the ground-truth file the detections were made for".into()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    use crate::dataset::coco::tests::GT;

    #[test]
    fn perfect_detection_from_files() {
        let gt = file(GT);
        let dt = file(r#"[{"image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 20], "score": 0.9}]"#);
        let stats = eval_files(gt.path(), dt.path()).unwrap();
        assert!((stats.stats[0] - 1.0).abs() < 1e-12, "{:?}", stats.stats);
        assert_eq!(stats.per_category.len(), 1);
        assert_eq!(stats.per_category[0].category_id, 7);
    }

    #[test]
    fn unknown_image_names_the_results_file() {
        let gt = file(GT);
        let dt = file(
            r#"[{"image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 20], "score": 0.9},
                {"image_id": 3, "category_id": 7, "bbox": [0, 0, 10, 20], "score": 0.9}]"#,
        );
        let e = eval_files(gt.path(), dt.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}: detections[1]: image_id 3 is not among the ground truth's `images`", dt.path().display())
        );
    }

    #[derive(Deserialize)]
    struct Fixture {
        gt: serde_json::Value,
        dt: serde_json::Value,
        stats: [f64; 12],
        per_category: std::collections::HashMap<String, f64>,
        summary: Vec<String>,
    }

    /// Fixtures written by scripts/make_cocoeval_fixtures.py from pycocotools 2.0.11 (a perfect
    /// case and a crowded one), evaluated through files.
    #[test]
    fn eval_files_matches_pycocotools_fixtures() {
        for case in ["case_00.json", "case_05.json"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cocoeval").join(case);
            let f: Fixture = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let gt = file(&f.gt.to_string());
            let dt = file(&f.dt.to_string());
            let got = eval_files(gt.path(), dt.path()).unwrap();
            for (i, (&g, &w)) in got.stats.iter().zip(&f.stats).enumerate() {
                assert!((g - w).abs() <= 1e-6, "{case}: {} = {g}, pycocotools {w}", coco_eval::STAT_NAMES[i]);
            }
            assert_eq!(coco_eval::summary_lines(&got.stats), f.summary, "{case}");
            assert_eq!(got.per_category.len(), f.per_category.len(), "{case}");
            for c in &got.per_category {
                let w = f.per_category[&c.category_id.to_string()];
                assert!((c.ap - w).abs() <= 1e-6, "{case}: category {}: {} vs {w}", c.category_id, c.ap);
            }
        }
    }
}

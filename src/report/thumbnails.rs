//! The worst images side by side: each clean and perturbed image made again from the suite (the
//! same seeded draw as the run), shrunk to a JPEG thumbnail, with labels and predictions drawn
//! over it in SVG.

use std::fmt::Write;
use std::io::Cursor;

use base64::Engine;
use image::{DynamicImage, RgbImage};

use super::{charts, escape};
use crate::dataset::Dataset;
use crate::metrics::{self, impact::LabeledBox};
use crate::output::results::{CaseResults, ShownObject, WorstImage};
use crate::perturb;
use crate::suite::Suite;

/// Longest side of a thumbnail, in pixels.
const SIDE: u32 = 240;
const QUALITY: u8 = 72;

/// What thumbnails are made from: the suite of the results and its dataset.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub suite: &'a Suite,
    pub dataset: &'a Dataset,
}

/// The clean and perturbed thumbnails of one of `case`'s worst images, with the ground truth
/// (dashed) and the model's boxes drawn; or why they cannot be made.
pub fn pair(source: Source, case: &CaseResults, worst: &WorstImage) -> Result<String, String> {
    let Source { suite, dataset } = source;
    let index = (dataset.images.iter().position(|i| i.id == worst.image_id))
        .ok_or_else(|| format!("image {} is no longer in the dataset", worst.image_id))?;
    let record = &dataset.images[index];
    let clean = image::open(&record.path).map_err(|e| format!("{}: {e}", record.path.display()))?.to_rgb8();
    let factor = (suite.risk_factors.iter().find(|rf| rf.factor.to_string() == case.factor))
        .ok_or_else(|| format!("the suite has no risk factor `{}` any more", case.factor))?;
    let (grid, point) = factor
        .grids
        .iter()
        .enumerate()
        .filter(|(_, g)| g.perturbation.name == case.perturbation)
        .find_map(|(g, grid)| Some((g, grid.points.iter().position(|p| p.label == case.setting)?)))
        .ok_or_else(|| format!("the suite no longer has the setting of {}", case.case))?;
    let op = factor.grids[grid].perturbation.build(&factor.grids[grid].points[point].values);
    let mut rng = perturb::case_rng(suite.seed, &factor.setting(grid, point), record.id);
    let moved = op.apply_moving(&clean, &mut rng);

    let labels = metrics::labels(dataset, index);
    let moved_labels = metrics::move_boxes(&labels, moved.motion.as_ref(), clean.width(), clean.height());
    let name =
        |id: u64| dataset.categories.iter().find(|c| c.id == id).map_or_else(|| id.to_string(), |c| c.name.clone());
    let before = drawing(&clean, &labels, &worst.clean, &name)?;
    let after = drawing(&moved.image, &moved_labels, &worst.perturbed, &name)?;
    Ok(format!(
        r#"<figure class="pair"><div>{before}<figcaption>clean · score {:.2}{}</figcaption></div><div>{after}<figcaption>{} · score {:.2}{}</figcaption></div><figcaption class="file">{}</figcaption></figure>"#,
        worst.before,
        classes_caption(&worst.clean),
        escape(&super::setting_title(case)),
        worst.after,
        classes_caption(&worst.perturbed),
        escape(&worst.file_name)
    ))
}

/// A classifier's top classes, for the caption; nothing for boxes (drawn instead).
fn classes_caption(shown: &[ShownObject]) -> String {
    if shown.iter().any(|s| s.bbox.is_some()) || shown.is_empty() {
        return String::new();
    }
    let top: Vec<String> = shown.iter().map(|s| format!("{} {:.2}", escape(&s.class), s.score)).collect();
    format!("<br>{}", top.join(" · "))
}

/// A class's color, the same in every drawing of the report: from its name.
fn class_color(class: &str) -> usize {
    class.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b)))
}

/// `image` as a thumbnail with `labels` dashed and the `shown` boxes in their class's color.
fn drawing(
    image: &RgbImage,
    labels: &[LabeledBox],
    shown: &[ShownObject],
    name: &dyn Fn(u64) -> String,
) -> Result<String, String> {
    let (w, h) = image.dimensions();
    let scale = (f64::from(SIDE) / f64::from(w.max(h))).min(1.0);
    let (tw, th) = (((f64::from(w) * scale).round() as u32).max(1), ((f64::from(h) * scale).round() as u32).max(1));
    let thumb = image::imageops::thumbnail(image, tw, th);
    let mut jpeg = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), QUALITY);
    DynamicImage::ImageRgb8(thumb).write_with_encoder(encoder).map_err(|e| e.to_string())?;
    let data = base64::engine::general_purpose::STANDARD.encode(&jpeg);
    let mut svg = format!(
        r#"<svg class="thumb" xmlns="http://www.w3.org/2000/svg" width="{tw}" height="{th}" viewBox="0 0 {tw} {th}"><image width="{tw}" height="{th}" href="data:image/jpeg;base64,{data}"/>"#
    );
    let rect = |b: [f32; 4]| {
        let [x1, y1, x2, y2] = b.map(|v| f64::from(v) * scale);
        format!(r#"x="{x1:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}""#, (x2 - x1).max(0.5), (y2 - y1).max(0.5))
    };
    for label in labels {
        // Dark under light, so the dashes show on any background.
        let _ = write!(
            svg,
            r#"<g><title>label: {}</title><rect class="truth-under" {1}/><rect class="truth" {1}/></g>"#,
            escape(&name(label.category_id)),
            rect(label.bbox)
        );
    }
    for s in shown {
        let Some(bbox) = s.bbox else { continue };
        let color = charts::color(class_color(&s.class));
        let [x1, y1, ..] = bbox.map(|v| f64::from(v) * scale);
        let _ = write!(
            svg,
            r#"<rect class="shown" {} stroke="{color}"/><text class="box-label" x="{x1:.1}" y="{:.1}" fill="{color}">{} {:.2}</text>"#,
            rect(bbox),
            (y1 - 2.0).max(8.0),
            escape(&s.class),
            s.score
        );
    }
    svg.push_str("</svg>");
    Ok(svg)
}

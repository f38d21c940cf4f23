//! Cutout: black rectangles punched into the image, hiding whatever was under them.

use image::RgbImage;
use rand::Rng;

use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "cutout",
    factor: RiskFactor::Occlusion,
    summary: "occlusion: rectangular holes filled black, centred anywhere (clipped at the edges)",
    params: &[
        ParamInfo {
            name: "holes",
            unit: "number of holes (rounded)",
            min: 0.0,
            max: 100.0,
            default: 3.0,
            integer: true,
        },
        ParamInfo {
            name: "size",
            unit: "hole side as a fraction of the image side (width of the width, height of the height)",
            min: 0.0,
            max: 1.0,
            default: 0.15,
            integer: false,
        },
    ],
    // Covering about 1, 3, 7, 13 and 20 % of the image (before overlaps and clipping).
    severities: [&[1.0, 0.1], &[2.0, 0.12], &[3.0, 0.15], &[4.0, 0.18], &[5.0, 0.2]],
    make: |p| Box::new(Cutout { holes: p.get("holes").round() as usize, size: p.get("size") as f32 }),
};

pub struct Cutout {
    pub holes: usize,
    pub size: f32,
}

impl Perturbation for Cutout {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let mut out = image.clone();
        if w == 0 || h == 0 || self.size <= 0.0 {
            return out;
        }
        // A hole is at least one pixel, so that a positive size always hides something.
        let side = |n: usize| ((self.size * n as f32).round() as usize).clamp(1, n);
        let (hw, hh) = (side(w), side(h));
        for _ in 0..self.holes {
            // Centres anywhere in the image, as DeVries & Taylor's Cutout: holes near the edge are
            // partly outside, so edges are not covered more rarely than the middle.
            let (cx, cy) = (rng.random_range(0..w), rng.random_range(0..h));
            let (x0, y0) = (cx.saturating_sub(hw / 2), cy.saturating_sub(hh / 2));
            let (x1, y1) = ((cx + hw - hw / 2).min(w), (cy + hh - hh / 2).min(h));
            for row in out.chunks_exact_mut(w * 3).take(y1).skip(y0) {
                row[x0 * 3..x1 * 3].fill(0);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    fn white(w: u32, h: u32) -> RgbImage {
        RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]))
    }

    #[test]
    fn one_hole_is_a_black_rectangle_of_the_given_size() {
        for seed in 0..20 {
            let out = Cutout { holes: 1, size: 0.25 }.apply(&white(40, 80), &mut case_rng(seed, "", 0));
            let black: Vec<(u32, u32)> =
                out.enumerate_pixels().filter(|p| p.2 .0 == [0; 3]).map(|p| (p.0, p.1)).collect();
            assert!(out.pixels().all(|p| p.0 == [0; 3] || p.0 == [255; 3]));
            let (xs, ys) = (black.iter().map(|p| p.0), black.iter().map(|p| p.1));
            let (w, h) =
                (xs.clone().max().unwrap() - xs.min().unwrap() + 1, ys.clone().max().unwrap() - ys.min().unwrap() + 1);
            // A full rectangle, 10 x 20 unless clipped (then at least half of each side).
            assert_eq!(black.len() as u32, w * h, "seed {seed}");
            assert!((5..=10).contains(&w) && (10..=20).contains(&h), "seed {seed}: {w} x {h}");
        }
    }

    #[test]
    fn more_holes_cover_more_and_none_covers_nothing() {
        let img = white(64, 64);
        let black = |holes| {
            let out = Cutout { holes, size: 0.1 }.apply(&img, &mut case_rng(3, "", 0));
            out.pixels().filter(|p| p[0] == 0).count()
        };
        assert_eq!(black(0), 0);
        assert!(black(1) > 0 && black(1) <= 36);
        assert!(black(20) > 4 * black(1));
    }

    #[test]
    fn a_one_pixel_image_can_be_covered() {
        let out = Cutout { holes: 1, size: 0.1 }.apply(&white(1, 1), &mut case_rng(0, "", 0));
        assert_eq!(out.get_pixel(0, 0).0, [0, 0, 0]);
    }
}

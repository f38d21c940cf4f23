//! Snow: falling flakes streaked by their motion over a whitened, lower-contrast scene.

use image::RgbImage;
use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::filters::{add_clipped_zoom, motion_blur, motion_taps, round_u8, ZoomAxis};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "snow",
    factor: RiskFactor::Weather,
    summary: "snowfall: thresholded zoomed noise as flakes, motion-streaked, over a whitened scene",
    params: &[
        ParamInfo {
            name: "flake_mean",
            unit: "mean of the flake noise field (0-1 scale)",
            min: -1.0,
            max: 2.0,
            default: 0.55,
            integer: false,
        },
        ParamInfo {
            name: "flake_std",
            unit: "standard deviation of the flake noise field (0-1 scale)",
            min: 0.0,
            max: 2.0,
            default: 0.3,
            integer: false,
        },
        ParamInfo {
            name: "flake_size",
            unit: "pixels per noise sample (zoom factor)",
            min: 1.0,
            max: 20.0,
            default: 4.0,
            integer: false,
        },
        ParamInfo {
            name: "threshold",
            unit: "noise level below which there is no flake (0-1 scale)",
            min: 0.0,
            max: 1.0,
            default: 0.9,
            integer: false,
        },
        ParamInfo {
            name: "streak_radius",
            unit: "pixels (motion streak spans 2 * radius + 1, rounded)",
            min: 0.0,
            max: 100.0,
            default: 12.0,
            integer: true,
        },
        ParamInfo {
            name: "streak_sigma",
            unit: "pixels (Gaussian fall-off along the streak)",
            min: 0.1,
            max: 100.0,
            default: 8.0,
            integer: false,
        },
        ParamInfo {
            name: "clarity",
            unit: "weight of the scene against its whitened copy (1 = no whitening)",
            min: 0.0,
            max: 1.0,
            default: 0.7,
            integer: false,
        },
        ParamInfo {
            name: "angle",
            unit: "degrees of the streak (-90 = flakes fall down the image)",
            min: -180.0,
            max: 180.0,
            default: -90.0,
            integer: false,
        },
        ParamInfo {
            name: "angle_jitter",
            unit: "degrees (angle drawn uniformly within +-jitter)",
            min: 0.0,
            max: 180.0,
            default: 45.0,
            integer: false,
        },
    ],
    // imagecorruptions' snow severities: streak angle uniform in [-135, -45] degrees.
    severities: [
        &[0.1, 0.3, 3.0, 0.5, 10.0, 4.0, 0.8, -90.0, 45.0],
        &[0.2, 0.3, 2.0, 0.5, 12.0, 4.0, 0.7, -90.0, 45.0],
        &[0.55, 0.3, 4.0, 0.9, 12.0, 8.0, 0.7, -90.0, 45.0],
        &[0.55, 0.3, 4.5, 0.85, 12.0, 8.0, 0.65, -90.0, 45.0],
        &[0.55, 0.3, 2.5, 0.85, 12.0, 12.0, 0.55, -90.0, 45.0],
    ],
    make: |p| {
        Box::new(Snow {
            flake_mean: p.get("flake_mean") as f32,
            flake_std: p.get("flake_std") as f32,
            flake_size: p.get("flake_size"),
            threshold: p.get("threshold") as f32,
            streak_radius: p.get("streak_radius").round() as usize,
            streak_sigma: p.get("streak_sigma"),
            clarity: p.get("clarity") as f32,
            angle: p.get("angle"),
            angle_jitter: p.get("angle_jitter"),
        })
    },
};

pub struct Snow {
    pub flake_mean: f32,
    pub flake_std: f32,
    pub flake_size: f64,
    pub threshold: f32,
    pub streak_radius: usize,
    pub streak_sigma: f64,
    pub clarity: f32,
    pub angle: f64,
    pub angle_jitter: f64,
}

impl Snow {
    /// The flake layer, 0-1: imagecorruptions' Gaussian field, zoomed, thresholded, streaked and
    /// rounded to bytes.
    #[inline(always)]
    fn flakes(&self, w: usize, h: usize, rng: &mut CaseRng) -> Vec<f32> {
        let (xs, ys) = (ZoomAxis::new(w, self.flake_size), ZoomAxis::new(h, self.flake_size));
        // Only the central crop of the field is ever zoomed into view: draw just that.
        let normal = Normal::new(self.flake_mean, self.flake_std.max(0.0)).expect("finite, non-negative std");
        let mut field = vec![0f32; w * h];
        for y in ys.offset..ys.offset + ys.crop {
            for v in &mut field[y * w + xs.offset..y * w + xs.offset + xs.crop] {
                *v = normal.sample(rng);
            }
        }
        let mut layer = vec![0f32; w * h];
        add_clipped_zoom(&field, w, 1, &xs, &ys, &mut layer);
        for v in &mut layer {
            *v = if *v < self.threshold { 0.0 } else { v.clamp(0.0, 1.0) };
        }
        let angle = self.angle + self.angle_jitter * (2.0 * rng.random::<f64>() - 1.0);
        let taps = motion_taps(self.streak_radius, self.streak_sigma, angle, w, h);
        let mut layer = motion_blur(&layer, w, h, 1, &taps);
        layer.iter_mut().for_each(|v| *v = round_u8(*v * 255.0) as f32 / 255.0);
        layer
    }
}

impl Perturbation for Snow {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return image.clone();
        }
        // Float layers and rows: compiled for the widest vectors the CPU has.
        super::simd::vectorised(
            #[inline(always)]
            || {
                let flakes = self.flakes(w, h, rng);
                let mut out = image.clone();
                for (i, px) in out.pixels_mut().enumerate() {
                    let [r, g, b] = px.0.map(|c| c as f32 / 255.0);
                    // Snow light: each channel pulled towards 1.5 * grey + 0.5 (OpenCV's RGB2GRAY weights).
                    let lifted = (0.299 * r + 0.587 * g + 0.114 * b) * 1.5 + 0.5;
                    // The flakes, plus the same layer turned half a turn for a second, denser fall.
                    let snow = flakes[i] + flakes[w * h - 1 - i];
                    px.0 = [r, g, b].map(|c| {
                        let scene = self.clarity * c + (1.0 - self.clarity) * c.max(lifted);
                        round_u8((scene + snow) * 255.0)
                    });
                }
                out
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn no_flakes_below_the_threshold_only_whitens() {
        let op = Snow { threshold: 1.0, flake_std: 0.0, clarity: 0.5, ..snow(0) };
        let img = RgbImage::from_pixel(20, 20, image::Rgb([0, 0, 0]));
        // Black: grey 0 lifts to 0.5; half of that.
        assert!(op.apply(&img, &mut case_rng(0, "", 0)).pixels().all(|p| p.0 == [64, 64, 64]));
    }

    #[test]
    fn flakes_are_bright_and_sparse() {
        let img = RgbImage::from_pixel(64, 48, image::Rgb([20, 20, 20]));
        let out = snow(2).apply(&img, &mut case_rng(0, "", 0));
        let bright = out.pixels().filter(|p| p[0] > 150).count();
        assert!(bright > 0 && bright < 64 * 48 / 2, "{bright}");
    }

    fn snow(severity: usize) -> Snow {
        let v = INFO.severities[severity];
        Snow {
            flake_mean: v[0] as f32,
            flake_std: v[1] as f32,
            flake_size: v[2],
            threshold: v[3] as f32,
            streak_radius: v[4] as usize,
            streak_sigma: v[5],
            clarity: v[6] as f32,
            angle: v[7],
            angle_jitter: v[8],
        }
    }
}

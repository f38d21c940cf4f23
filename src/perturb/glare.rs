//! Glare: a bright flare from the sun or a lamp washing out part of the image at a random position.

use image::RgbImage;
use rand::Rng;

use super::filters::round_u8;
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "glare",
    factor: RiskFactor::Lighting,
    summary: "a Gaussian blob of warm light screen-blended at a random spot in the upper half",
    params: &[
        ParamInfo {
            name: "intensity",
            unit: "fraction of the way to full light at the blob's centre",
            min: 0.0,
            max: 1.0,
            default: 0.7,
            integer: false,
        },
        ParamInfo {
            name: "radius",
            unit: "fraction of the image diagonal (where the light falls to 1/e)",
            min: 0.0,
            max: 2.0,
            default: 0.2,
            integer: false,
        },
    ],
    // From a small, partly transparent glint to a near-white flare over a good part of the frame,
    // about the extent of albumentations' RandomSunFlare default (a 400-pixel sun) at 640x480.
    severities: [&[0.5, 0.1], &[0.6, 0.15], &[0.7, 0.2], &[0.8, 0.25], &[0.9, 0.3]],
    make: |p| Box::new(Glare { intensity: p.get("intensity") as f32, radius: p.get("radius") as f32 }),
};

/// Sunlight and most lamps are slightly warmer than white.
const LIGHT: [f32; 3] = [255.0, 246.0, 228.0];

pub struct Glare {
    pub intensity: f32,
    pub radius: f32,
}

/// exp(-((i + 0.5 - centre) / r)^2) for each pixel of a line of `n`.
fn falloff(n: usize, centre: f32, r: f32) -> Vec<f32> {
    (0..n).map(|i| (-((i as f32 + 0.5 - centre) / r).powi(2)).exp()).collect()
}

impl Perturbation for Glare {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        // As albumentations' default flare region: the sun or a ceiling light, above the middle.
        let cx = rng.random::<f32>() * w as f32;
        let cy = rng.random::<f32>() * h as f32 * 0.5;
        let r = self.radius * (w as f32).hypot(h as f32);
        let mut out = image.clone();
        if w == 0 || h == 0 || r <= 0.0 || self.intensity <= 0.0 {
            return out;
        }
        // A Gaussian in r^2 = dx^2 + dy^2 is the product of one per column and one per row.
        let gx = falloff(w, cx, r);
        let gy: Vec<f32> = falloff(h, cy, r).into_iter().map(|v| v * self.intensity.min(1.0)).collect();
        for (row, &fy) in out.chunks_exact_mut(w * 3).zip(&gy) {
            for (px, &fx) in row.chunks_exact_mut(3).zip(&gx) {
                let a = fx * fy;
                // Screen blend: light only ever adds, and never past white.
                for (v, l) in px.iter_mut().zip(LIGHT) {
                    let v0 = *v as f32;
                    *v = round_u8(v0 + a * l * (1.0 - v0 / 255.0));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn only_brightens_and_peaks_near_one_spot_in_the_upper_half() {
        let img = RgbImage::from_pixel(40, 30, image::Rgb([50, 60, 70]));
        let out = Glare { intensity: 0.9, radius: 0.2 }.apply(&img, &mut case_rng(0, "t", 0));
        assert!(out.iter().zip(img.iter()).all(|(a, b)| a >= b));
        let (mut best, mut at) = (0u32, (0, 0));
        for (x, y, p) in out.enumerate_pixels() {
            let s = p.0.iter().map(|&v| v as u32).sum();
            if s > best {
                (best, at) = (s, (x, y));
            }
        }
        assert!(at.1 < 15, "{at:?}");
        // Near the centre about 90 % of the way to the light colour; the far corner much less.
        let peak = out.get_pixel(at.0, at.1)[0];
        assert!(peak > 225, "{peak}");
        let far = out.get_pixel(if at.0 < 20 { 39 } else { 0 }, 29)[0];
        assert!(far < 100, "{far}");
    }

    #[test]
    fn zero_intensity_is_identity_and_white_stays_white() {
        let img = RgbImage::from_fn(9, 9, |x, y| image::Rgb([x as u8 * 20, y as u8 * 20, 255]));
        assert_eq!(Glare { intensity: 0.0, radius: 0.3 }.apply(&img, &mut case_rng(0, "t", 1)), img);
        let white = RgbImage::from_pixel(9, 9, image::Rgb([255, 255, 255]));
        assert_eq!(Glare { intensity: 1.0, radius: 0.5 }.apply(&white, &mut case_rng(0, "t", 1)), white);
    }
}

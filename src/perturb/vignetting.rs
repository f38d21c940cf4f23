//! Vignetting: the image darkens toward the corners, as with cheap or wide-angle lenses and lens hoods.

use image::RgbImage;

use super::filters::round_u8;
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "vignetting",
    factor: RiskFactor::Lighting,
    summary: "radial fall-off: gain 1 - strength * (r / r_corner)^2, the leading term of the cos^4 law",
    params: &[ParamInfo {
        name: "strength",
        unit: "fraction of brightness lost at the corners",
        min: 0.0,
        max: 1.0,
        default: 0.5,
        integer: false,
    }],
    // albumentations has no vignetting; 0.2 is a typical phone lens wide open, 0.8 a heavy
    // lens-hood or filter vignette.
    severities: [&[0.2], &[0.35], &[0.5], &[0.65], &[0.8]],
    make: |p| Box::new(Vignetting { strength: p.get("strength") as f32 }),
};

pub struct Vignetting {
    pub strength: f32,
}

/// Squared distance of each pixel centre from the middle of a line of `n` pixels, over `r2`.
fn axis(n: usize, r2: f32) -> Vec<f32> {
    let c = (n as f32 - 1.0) / 2.0;
    (0..n).map(|i| (i as f32 - c).powi(2) / r2).collect()
}

impl Perturbation for Vignetting {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        // Measured to the corner pixels' centres, so that they lose exactly `strength`.
        let r2 = ((w as f32 - 1.0) / 2.0).powi(2) + ((h as f32 - 1.0) / 2.0).powi(2);
        let mut out = image.clone();
        if w == 0 || h == 0 || r2 == 0.0 {
            return out;
        }
        let s = self.strength.clamp(0.0, 1.0);
        // r^2 = dx^2 + dy^2: the gain is a sum of a per-column and a per-row term.
        let ax: Vec<f32> = axis(w, r2).into_iter().map(|v| v * s).collect();
        let ay = axis(h, r2);
        for (row, &dy) in out.chunks_exact_mut(w * 3).zip(&ay) {
            let base = 1.0 - s * dy;
            for (px, &dx) in row.chunks_exact_mut(3).zip(&ax) {
                let gain = base - dx;
                for v in px {
                    *v = round_u8(*v as f32 * gain);
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
    fn corners_lose_the_strength_and_the_centre_nothing() {
        let img = RgbImage::from_pixel(5, 3, image::Rgb([200, 100, 254]));
        let out = Vignetting { strength: 0.5 }.apply(&img, &mut case_rng(0, "", 0));
        assert_eq!(out.get_pixel(2, 1).0, [200, 100, 254]);
        for (x, y) in [(0, 0), (4, 0), (0, 2), (4, 2)] {
            assert_eq!(out.get_pixel(x, y).0, [100, 50, 127]);
        }
        // Darker with distance along a row.
        assert!(out.get_pixel(0, 1)[0] < out.get_pixel(1, 1)[0]);
    }

    #[test]
    fn zero_strength_and_single_pixels_are_unchanged() {
        let img = RgbImage::from_pixel(6, 4, image::Rgb([9, 99, 199]));
        assert_eq!(Vignetting { strength: 0.0 }.apply(&img, &mut case_rng(0, "", 0)), img);
        let one = RgbImage::from_pixel(1, 1, image::Rgb([9, 99, 199]));
        assert_eq!(Vignetting { strength: 1.0 }.apply(&one, &mut case_rng(0, "", 0)), one);
    }
}

//! RGB shift: each colour channel offset by its own random amount (white balance or sensor gain off).

use image::RgbImage;
use rand::Rng;

use super::filters::round_u8;
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "rgb_shift",
    factor: RiskFactor::Color,
    summary: "adds a random offset to each of R, G and B, each drawn within +-`shift`",
    params: &[ParamInfo {
        name: "shift",
        unit: "channel levels of 255 (offsets drawn uniformly within +-shift)",
        min: 0.0,
        max: 255.0,
        default: 20.0,
        integer: false,
    }],
    // Severity 3 is albumentations' RGBShift default (+-20 levels per channel).
    severities: [&[5.0], &[10.0], &[20.0], &[35.0], &[50.0]],
    make: |p| Box::new(RgbShift { shift: p.get("shift") as f32 }),
};

pub struct RgbShift {
    pub shift: f32,
}

impl Perturbation for RgbShift {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let offsets: [f32; 3] = std::array::from_fn(|_| rng.random_range(-self.shift..=self.shift));
        let luts: [[u8; 256]; 3] = offsets.map(|d| std::array::from_fn(|v| round_u8((v as f32 + d).max(0.0))));
        super::simd::map_channels(image, &luts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn every_pixel_gets_the_same_offsets_within_the_limit() {
        let img = RgbImage::from_fn(8, 8, |x, y| image::Rgb([100 + x as u8, 100 + y as u8, 100]));
        let out = RgbShift { shift: 30.0 }.apply(&img, &mut case_rng(0, "t", 0));
        let d = |p: &image::Rgb<u8>, q: &image::Rgb<u8>| [0, 1, 2].map(|c| p[c] as i32 - q[c] as i32);
        let first = d(out.get_pixel(0, 0), img.get_pixel(0, 0));
        assert!(first.iter().all(|v| v.abs() <= 30) && first != [0, 0, 0]);
        assert!(out.pixels().zip(img.pixels()).all(|(p, q)| d(p, q) == first));
    }

    #[test]
    fn zero_shift_is_identity() {
        let img = RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8, y as u8, 255]));
        assert_eq!(RgbShift { shift: 0.0 }.apply(&img, &mut case_rng(0, "t", 0)), img);
    }
}

//! Posterize: too few intensity levels (low bit depth, aggressive quantisation), banding smooth areas.

use image::RgbImage;

use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "posterize",
    factor: RiskFactor::ImageQuality,
    summary: "keep only the top `bits` bits of every channel value",
    params: &[ParamInfo {
        name: "bits",
        unit: "bits kept per channel (rounded; 8 = unchanged)",
        min: 1.0,
        max: 8.0,
        default: 4.0,
        integer: true,
    }],
    // Severity 3 is albumentations' Posterize default (4 bits).
    severities: [&[6.0], &[5.0], &[4.0], &[3.0], &[2.0]],
    make: |p| Box::new(Posterize { bits: p.get("bits").round().clamp(1.0, 8.0) as u32 }),
};

pub struct Posterize {
    /// 1 to 8.
    pub bits: u32,
}

impl Perturbation for Posterize {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        // As PIL and albumentations: clear the low bits (rounds down, so the image darkens a little).
        let mask = (0xffu32 << (8 - self.bits.clamp(1, 8))) as u8;
        let mut out = image.clone();
        for v in out.iter_mut() {
            *v &= mask;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    fn all_values() -> RgbImage {
        RgbImage::from_fn(256, 1, |x, _| image::Rgb([x as u8, 255 - x as u8, 0x37]))
    }

    #[test]
    fn eight_bits_is_identity() {
        let img = all_values();
        assert_eq!(Posterize { bits: 8 }.apply(&img, &mut case_rng(0, "", 0)), img);
    }

    #[test]
    fn keeps_the_top_bits() {
        let out = Posterize { bits: 4 }.apply(&all_values(), &mut case_rng(0, "", 0));
        assert!(out.pixels().all(|p| p[2] == 0x30));
        let one = Posterize { bits: 1 }.apply(&all_values(), &mut case_rng(0, "", 0));
        assert!(one.iter().all(|&v| v == 0 || v == 128));
        assert_eq!(one.get_pixel(127, 0)[0], 0);
        assert_eq!(one.get_pixel(128, 0)[0], 128);
    }
}

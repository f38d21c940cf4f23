//! Grayscale: colour lost (a monochrome or IR camera, a faded print), blended in by `amount`.

use image::RgbImage;

use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "grayscale",
    factor: RiskFactor::Color,
    summary: "blend toward the luma image (ITU-R BT.601 weights, as OpenCV's RGB2GRAY)",
    params: &[ParamInfo {
        name: "amount",
        unit: "fraction blended toward grey",
        min: 0.0,
        max: 1.0,
        default: 1.0,
        integer: false,
    }],
    // albumentations' ToGray is all or nothing (severity 5); milder severities desaturate part
    // way, so that a stress test can see where a model starts to fail.
    severities: [&[0.2], &[0.4], &[0.6], &[0.8], &[1.0]],
    make: |p| Box::new(Grayscale { amount: p.get("amount") as f32 }),
};

pub struct Grayscale {
    pub amount: f32,
}

/// Luma of an RGB pixel in OpenCV's fixed point (`cvtColor(RGB2GRAY)`): 0.299 R + 0.587 G + 0.114 B.
#[inline]
pub(crate) fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 4899 + g as u32 * 9617 + b as u32 * 1868 + (1 << 13)) >> 14) as u8
}

/// `amount` (0-1) as a weight out of 256, so that blends are exact at both ends.
#[inline]
pub(crate) fn weight_256(amount: f32) -> u32 {
    (amount.clamp(0.0, 1.0) * 256.0).round() as u32
}

/// `a` moved toward `b` by `w` / 256, rounded.
#[inline]
pub(crate) fn blend_u8(a: u8, b: u8, w: u32) -> u8 {
    ((a as u32 * (256 - w) + b as u32 * w + 128) >> 8) as u8
}

impl Perturbation for Grayscale {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let w = weight_256(self.amount);
        let mut out = image.clone();
        for px in out.chunks_exact_mut(3) {
            // As a fixed-size array the three channels unroll, with no per-value bounds checks.
            let px: &mut [u8; 3] = px.try_into().expect("chunks of 3");
            let y = luma(px[0], px[1], px[2]);
            *px = px.map(|v| blend_u8(v, y, w));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn full_amount_gives_equal_channels_at_luma() {
        let img = RgbImage::from_fn(16, 16, |x, y| image::Rgb([(x * 16) as u8, (y * 16) as u8, (x * y) as u8]));
        let out = Grayscale { amount: 1.0 }.apply(&img, &mut case_rng(0, "", 0));
        assert!(out.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
        // 0.299 * 255 = 76.2, OpenCV's 4899 / 16384 of it.
        let red = Grayscale { amount: 1.0 }
            .apply(&RgbImage::from_pixel(1, 1, image::Rgb([255, 0, 0])), &mut case_rng(0, "", 0));
        assert_eq!(red.get_pixel(0, 0).0, [76, 76, 76]);
    }

    #[test]
    fn zero_amount_is_identity_and_half_is_between() {
        let img = RgbImage::from_pixel(1, 1, image::Rgb([200, 100, 0]));
        assert_eq!(Grayscale { amount: 0.0 }.apply(&img, &mut case_rng(0, "", 0)), img);
        // Luma 118: half way is (200 + 118) / 2 = 159, (100 + 118) / 2 = 109, 118 / 2 = 59.
        let half = Grayscale { amount: 0.5 }.apply(&img, &mut case_rng(0, "", 0));
        assert_eq!(half.get_pixel(0, 0).0, [159, 109, 59]);
    }
}

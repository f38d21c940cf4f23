//! Grayscale: colour lost (a monochrome or IR camera, a faded print), blended in by `amount`.

use image::RgbImage;

use super::simd::{map_pixels, PixelKernel};
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

/// `a` moved toward `b` by `w` / 256 (`w` at most 256), rounded. In 16-bit arithmetic, which
/// holds every sum (at most 255 · 256 + 128) and vectorises twice as wide as 32-bit.
#[inline]
pub(crate) fn blend_u8(a: u8, b: u8, w: u32) -> u8 {
    let w = w as u16;
    ((u16::from(a) * (256 - w) + u16::from(b) * w + 128) >> 8) as u8
}

impl Perturbation for Grayscale {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        map_pixels(image, &TowardLuma(weight_256(self.amount)))
    }
}

/// Every channel moved toward the pixel's luma by a weight out of 256.
struct TowardLuma(u32);

impl PixelKernel for TowardLuma {
    #[inline(always)]
    fn pixel(&self, rgb: [u8; 3]) -> [u8; 3] {
        // `luma` in f32, with the same result: its integer sums stay below 2^24, which f32 holds
        // exactly, and float multiplies are twice as fast as 32-bit integer ones.
        let [r, g, b] = rgb.map(f32::from);
        let sum = r * 4899.0 + g * 9617.0 + b * 1868.0 + 8192.0;
        // SAFETY: `sum` / 2^14 is in 0..256: r, g, b are bytes and the weights sum to 2^14.
        let y = unsafe { (sum * (1.0 / 16384.0)).to_int_unchecked::<i32>() } as u8;
        rgb.map(|v| blend_u8(v, y, self.0))
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
    fn every_pixel_is_the_luma_blend() {
        use rand::Rng;
        let mut rng = case_rng(6, "grayscale", 0);
        let mut img = RgbImage::from_fn(97, 11, |_, _| image::Rgb(rng.random()));
        img.put_pixel(0, 0, image::Rgb([255, 255, 255]));
        for amount in [0.0, 0.3, 0.77, 1.0] {
            let out = Grayscale { amount }.apply(&img, &mut case_rng(0, "", 0));
            let w = weight_256(amount);
            for (p, q) in img.pixels().zip(out.pixels()) {
                let y = luma(p[0], p[1], p[2]);
                assert_eq!(q.0, p.0.map(|v| blend_u8(v, y, w)), "{:?} at {amount}", p.0);
            }
        }
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

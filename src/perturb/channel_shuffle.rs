//! Channel shuffle: colour channels in the wrong order (a decoder or pipeline bug), blended in by `amount`.

use image::RgbImage;
use rand::Rng;

use super::grayscale::{blend_u8, weight_256};
use super::simd::{map_pixels, PixelKernel};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "channel_shuffle",
    factor: RiskFactor::Color,
    summary: "blend toward the image with its RGB channels in a random order (never the original order)",
    params: &[ParamInfo {
        name: "amount",
        unit: "fraction blended toward the shuffled image",
        min: 0.0,
        max: 1.0,
        default: 1.0,
        integer: false,
    }],
    // albumentations' ChannelShuffle swaps outright (severity 5); milder severities blend, so that
    // a stress test can see where a model starts to fail.
    severities: [&[0.2], &[0.4], &[0.6], &[0.8], &[1.0]],
    make: |p| Box::new(ChannelShuffle { amount: p.get("amount") as f32 }),
};

/// The five orders other than the identity: a random perturbation that may leave the image as
/// it is would make severities meaningless.
const PERMUTATIONS: [[usize; 3]; 5] = [[0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

pub struct ChannelShuffle {
    pub amount: f32,
}

impl Perturbation for ChannelShuffle {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let p = PERMUTATIONS[rng.random_range(0..PERMUTATIONS.len())];
        let w = weight_256(self.amount);
        // The order as constants: each pixel is then three fixed moves and blends, unrolled.
        match p {
            [0, 2, 1] => shuffle::<0, 2, 1>(image, w),
            [1, 0, 2] => shuffle::<1, 0, 2>(image, w),
            [1, 2, 0] => shuffle::<1, 2, 0>(image, w),
            [2, 0, 1] => shuffle::<2, 0, 1>(image, w),
            _ => shuffle::<2, 1, 0>(image, w),
        }
    }
}

/// Output channels `(R, G, B)` blended toward input channels `(A, B, C)` by `w` / 256.
fn shuffle<const A: usize, const B: usize, const C: usize>(image: &RgbImage, w: u32) -> RgbImage {
    map_pixels(image, &Shuffle::<A, B, C>(w))
}

/// Output channels 0, 1, 2 moved toward input channels A, B, C by a weight out of 256.
struct Shuffle<const A: usize, const B: usize, const C: usize>(u32);

impl<const A: usize, const B: usize, const C: usize> PixelKernel for Shuffle<A, B, C> {
    #[inline(always)]
    fn pixel(&self, s: [u8; 3]) -> [u8; 3] {
        [blend_u8(s[0], s[A], self.0), blend_u8(s[1], s[B], self.0), blend_u8(s[2], s[C], self.0)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn full_amount_permutes_channels_and_never_keeps_the_order() {
        let img = RgbImage::from_pixel(3, 2, image::Rgb([10, 20, 30]));
        for id in 0..20 {
            let out = ChannelShuffle { amount: 1.0 }.apply(&img, &mut case_rng(0, "t", id));
            let px = out.get_pixel(0, 0).0;
            assert_ne!(px, [10, 20, 30]);
            let mut sorted = px;
            sorted.sort();
            assert_eq!(sorted, [10, 20, 30]);
            assert!(out.pixels().all(|p| p.0 == px));
        }
    }

    #[test]
    fn zero_amount_is_identity() {
        let img = RgbImage::from_fn(4, 4, |x, y| image::Rgb([x as u8, y as u8, 9]));
        assert_eq!(ChannelShuffle { amount: 0.0 }.apply(&img, &mut case_rng(0, "t", 0)), img);
    }
}

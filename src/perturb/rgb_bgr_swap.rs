//! RGB/BGR swap: red and blue exchanged, the classic OpenCV-versus-everything-else pipeline bug.

use image::RgbImage;

use super::{Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "rgb_bgr_swap",
    factor: RiskFactor::Color,
    summary: "red and blue channels swapped, as when BGR data is read as RGB",
    params: &[],
    // A swap is all or nothing: every severity is the same perturbation.
    severities: [&[], &[], &[], &[], &[]],
    make: |_| Box::new(RgbBgrSwap),
};

pub struct RgbBgrSwap;

impl Perturbation for RgbBgrSwap {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let mut out = image.clone();
        for px in out.chunks_exact_mut(3) {
            px.swap(0, 2);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn swaps_red_and_blue() {
        let img = RgbImage::from_pixel(2, 1, image::Rgb([10, 20, 30]));
        let out = RgbBgrSwap.apply(&img, &mut case_rng(0, "", 0));
        assert!(out.pixels().all(|p| p.0 == [30, 20, 10]));
    }

    #[test]
    fn swapping_twice_is_the_identity() {
        let img = RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8, y as u8, (x * y) as u8 + 7]));
        let mut rng = case_rng(0, "", 0);
        let once = RgbBgrSwap.apply(&img, &mut rng);
        assert_ne!(once, img);
        assert_eq!(RgbBgrSwap.apply(&once, &mut rng), img);
    }
}

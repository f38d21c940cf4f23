//! Contrast: pull every channel towards its image mean (flat, hazy light).

use image::RgbImage;

use super::{to_u8, ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "contrast",
    factor: RiskFactor::Lighting,
    summary: "lower contrast: scales each channel's deviation from its mean",
    params: &[ParamInfo {
        name: "factor",
        unit: "ratio (1 = unchanged)",
        min: 0.0,
        max: 4.0,
        default: 0.3,
        integer: false,
    }],
    // imagecorruptions' contrast severities.
    severities: [&[0.4], &[0.3], &[0.2], &[0.1], &[0.05]],
    make: |p| Box::new(Contrast { factor: p.get("factor") as f32 }),
};

pub struct Contrast {
    pub factor: f32,
}

impl Perturbation for Contrast {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let n = (image.width() as f64 * image.height() as f64).max(1.0);
        let sums = super::simd::channel_sums(image);
        let means = sums.map(|s| (s as f64 / n) as f32);
        // With the means known, each channel is a map of its own value.
        let luts: [[u8; 256]; 3] =
            means.map(|mean| std::array::from_fn(|v| to_u8((v as f32 - mean) * self.factor + mean)));
        super::simd::map_channels(image, &luts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn factor_zero_gives_the_mean_colour() {
        let mut img = RgbImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgb([0, 100, 200]));
        img.put_pixel(1, 0, image::Rgb([100, 200, 250]));
        let out = Contrast { factor: 0.0 }.apply(&img, &mut case_rng(0, "", 0));
        assert_eq!(out.get_pixel(0, 0).0, [50, 150, 225]);
        assert_eq!(out.get_pixel(1, 0).0, [50, 150, 225]);
    }
}

//! Additive Gaussian noise (sensor read noise), per channel and pixel.

use image::RgbImage;
use rand_distr::{Distribution, Normal};

use super::{to_u8, ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "gaussian_noise",
    factor: RiskFactor::Noise,
    summary: "additive Gaussian noise, as sensor read noise",
    params: &[ParamInfo {
        name: "std",
        unit: "fraction of full scale",
        min: 0.0,
        max: 1.0,
        default: 0.1,
        integer: false,
    }],
    // imagecorruptions' gaussian_noise severities.
    severities: [&[0.08], &[0.12], &[0.18], &[0.26], &[0.38]],
    make: |p| Box::new(GaussianNoise { std: p.get("std") as f32 }),
};

pub struct GaussianNoise {
    pub std: f32,
}

impl Perturbation for GaussianNoise {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let mut out = image.clone();
        if self.std <= 0.0 {
            return out;
        }
        let normal = Normal::new(0.0f32, self.std * 255.0).expect("std is positive and finite");
        for v in out.iter_mut() {
            *v = to_u8(*v as f32 + normal.sample(rng));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn noise_has_the_requested_spread() {
        let img = RgbImage::from_pixel(100, 100, image::Rgb([128, 128, 128]));
        let out = GaussianNoise { std: 0.1 }.apply(&img, &mut case_rng(0, "t", 0));
        let n = out.len() as f64;
        let mean = out.iter().map(|&v| v as f64).sum::<f64>() / n;
        let sd = (out.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!((mean - 128.0).abs() < 1.0, "{mean}");
        assert!((sd - 25.5).abs() < 1.0, "{sd}");
    }

    #[test]
    fn different_images_get_different_noise() {
        let img = RgbImage::from_pixel(8, 8, image::Rgb([128, 128, 128]));
        let op = GaussianNoise { std: 0.2 };
        assert_ne!(op.apply(&img, &mut case_rng(0, "t", 1)), op.apply(&img, &mut case_rng(0, "t", 2)));
    }
}

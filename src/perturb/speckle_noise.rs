//! Speckle noise: multiplicative Gaussian noise, stronger in bright areas (gain noise, coherent light).

use image::RgbImage;
use rand_distr::{Distribution, StandardNormal};

use super::filters::round_u8;
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "speckle_noise",
    factor: RiskFactor::Noise,
    summary: "multiplicative Gaussian noise: each value times (1 + N(0, std))",
    params: &[ParamInfo {
        name: "std",
        unit: "fraction of the value",
        min: 0.0,
        max: 2.0,
        default: 0.35,
        integer: false,
    }],
    // imagecorruptions' speckle_noise severities.
    severities: [&[0.15], &[0.2], &[0.35], &[0.45], &[0.6]],
    make: |p| Box::new(SpeckleNoise { std: p.get("std") as f32 }),
};

pub struct SpeckleNoise {
    pub std: f32,
}

impl Perturbation for SpeckleNoise {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let mut out = image.clone();
        for v in out.iter_mut() {
            let n: f32 = StandardNormal.sample(rng);
            let x = *v as f32;
            *v = round_u8(x + x * self.std * n);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn spread_grows_with_brightness() {
        let mut img = RgbImage::from_pixel(100, 100, image::Rgb([50, 50, 50]));
        img.pixels_mut().skip(5000).for_each(|p| *p = image::Rgb([200, 200, 200]));
        let out = SpeckleNoise { std: 0.1 }.apply(&img, &mut case_rng(0, "t", 0));
        let sd = |vals: &[u8], mean: f64| {
            (vals.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / vals.len() as f64).sqrt()
        };
        let (dark, bright) = out.as_raw().split_at(15000);
        assert!((sd(dark, 50.0) - 5.0).abs() < 0.3, "{}", sd(dark, 50.0));
        assert!((sd(bright, 200.0) - 20.0).abs() < 0.6, "{}", sd(bright, 200.0));
    }

    #[test]
    fn black_stays_black() {
        let img = RgbImage::new(8, 8);
        assert_eq!(SpeckleNoise { std: 0.6 }.apply(&img, &mut case_rng(0, "t", 0)), img);
    }
}

//! Gaussian blur (defocus, a soft lens): separable kernel, edges repeat the border pixel.

use image::RgbImage;

use super::filters::{self, Border};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "gaussian_blur",
    factor: RiskFactor::Blur,
    summary: "Gaussian blur, as out-of-focus optics",
    params: &[ParamInfo { name: "sigma", unit: "pixels", min: 0.0, max: 50.0, default: 2.0, integer: false }],
    // imagecorruptions' gaussian_blur severities.
    severities: [&[1.0], &[2.0], &[3.0], &[4.0], &[6.0]],
    make: |p| Box::new(GaussianBlur { sigma: p.get("sigma") as f32 }),
};

pub struct GaussianBlur {
    pub sigma: f32,
}

impl Perturbation for GaussianBlur {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        blur(image, self.sigma)
    }
}

/// Kernel truncated at 4 sigma, like scipy/scikit-image (`truncate=4.0`, `mode='nearest'`).
pub(crate) fn kernel(sigma: f32) -> Vec<f32> {
    let radius = (4.0 * sigma + 0.5) as i32;
    let mut k: Vec<f32> = (-radius..=radius).map(|i| (-0.5 * (i as f32 / sigma).powi(2)).exp()).collect();
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

pub(crate) fn blur(image: &RgbImage, sigma: f32) -> RgbImage {
    if sigma <= 0.0 {
        return image.clone();
    }
    let k = kernel(sigma);
    let (w, h) = (image.width() as usize, image.height() as usize);
    filters::separable_image(image.as_raw(), w, h, &k, &k, Border::Nearest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_is_normalised_and_symmetric() {
        let k = kernel(1.5);
        assert_eq!(k.len(), 13);
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(k[0], k[12]);
    }

    #[test]
    fn flat_image_stays_flat() {
        let img = RgbImage::from_pixel(9, 5, image::Rgb([10, 200, 77]));
        assert_eq!(blur(&img, 3.0), img);
    }

    #[test]
    fn spreads_a_point_symmetrically() {
        let mut img = RgbImage::new(9, 9);
        img.put_pixel(4, 4, image::Rgb([255, 255, 255]));
        let out = blur(&img, 1.0);
        assert_eq!(out.get_pixel(3, 4), out.get_pixel(5, 4));
        assert_eq!(out.get_pixel(4, 3), out.get_pixel(4, 5));
        assert!(out.get_pixel(4, 4)[0] < 255 && out.get_pixel(3, 4)[0] > 0);
    }
}

//! Motion blur: a camera or object moving during the exposure smears the image along a line.

use image::RgbImage;
use rand::Rng;

use super::filters::{motion_blur_image, motion_taps};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "motion_blur",
    factor: RiskFactor::Blur,
    summary: "linear motion smear: a one-sided Gaussian-weighted streak at a random angle",
    params: &[
        ParamInfo {
            name: "radius",
            unit: "pixels (the streak spans 2 * radius + 1, rounded)",
            min: 0.0,
            max: 100.0,
            default: 15.0,
            integer: true,
        },
        ParamInfo {
            name: "sigma",
            unit: "pixels (Gaussian fall-off along the streak)",
            min: 0.1,
            max: 100.0,
            default: 8.0,
            integer: false,
        },
        ParamInfo {
            name: "angle",
            unit: "degrees (0 = along +x, 90 = along +y)",
            min: -180.0,
            max: 180.0,
            default: 0.0,
            integer: false,
        },
        ParamInfo {
            name: "angle_jitter",
            unit: "degrees (angle drawn uniformly within +-jitter)",
            min: 0.0,
            max: 180.0,
            default: 45.0,
            integer: false,
        },
    ],
    // imagecorruptions' motion_blur severities: angle uniform in [-45, 45] degrees.
    severities: [
        &[10.0, 3.0, 0.0, 45.0],
        &[15.0, 5.0, 0.0, 45.0],
        &[15.0, 8.0, 0.0, 45.0],
        &[15.0, 12.0, 0.0, 45.0],
        &[20.0, 15.0, 0.0, 45.0],
    ],
    make: |p| {
        Box::new(MotionBlur {
            radius: p.get("radius").round() as usize,
            sigma: p.get("sigma"),
            angle: p.get("angle"),
            angle_jitter: p.get("angle_jitter"),
        })
    },
};

pub struct MotionBlur {
    pub radius: usize,
    pub sigma: f64,
    pub angle: f64,
    pub angle_jitter: f64,
}

impl Perturbation for MotionBlur {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let angle = self.angle + self.angle_jitter * (2.0 * rng.random::<f64>() - 1.0);
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return image.clone();
        }
        let taps = motion_taps(self.radius, self.sigma, angle, w, h);
        motion_blur_image(image, &taps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn horizontal_streak_smears_along_x_only() {
        let mut img = RgbImage::new(40, 9);
        img.put_pixel(20, 4, image::Rgb([255, 255, 255]));
        let op = MotionBlur { radius: 5, sigma: 3.0, angle: 0.0, angle_jitter: 0.0 };
        let out = op.apply(&img, &mut case_rng(0, "", 0));
        // out(x) reads in(x + i): the point spreads to the left, strongest on itself.
        assert!(out.get_pixel(20, 4)[0] > out.get_pixel(15, 4)[0] && out.get_pixel(15, 4)[0] > 0);
        assert_eq!(out.get_pixel(21, 4)[0], 0);
        assert!((0..40).all(|x| out.get_pixel(x, 3)[0] == 0 && out.get_pixel(x, 5)[0] == 0));
    }
}

//! Perspective: the scene seen from a slightly different viewpoint, each corner pulled in at random.

use rand::Rng;

use super::warp::{Geometric, Homography, Warped};
use super::{ParamInfo, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "perspective",
    factor: RiskFactor::Geometry,
    summary: "projective warp: each image corner moves inward by up to the distortion; labels follow",
    params: &[ParamInfo {
        name: "distortion",
        unit: "fraction of the image side",
        min: 0.0,
        max: 0.45,
        default: 0.08,
        integer: false,
    }],
    // Severity 3 is albumentations' Perspective default range (0.05, 0.1), taken at its middle.
    severities: [&[0.03], &[0.05], &[0.08], &[0.11], &[0.15]],
    make: |p| Box::new(Warped(Perspective { distortion: p.get("distortion") })),
};

pub struct Perspective {
    pub distortion: f64,
}

impl Geometric for Perspective {
    fn motion(&self, width: u32, height: u32, rng: &mut CaseRng) -> Homography {
        let (w, h) = (f64::from(width), f64::from(height));
        let corners = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
        // Each corner moves toward the inside by a random share (half to all) of the distortion,
        // so severity sets how far the view turns and every image is hit.
        let mut jitter = || self.distortion * (0.5 + 0.5 * rng.random::<f64>());
        let inward = [[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]];
        let mut to = corners;
        for (c, dir) in to.iter_mut().zip(inward) {
            c[0] += dir[0] * jitter() * w;
            c[1] += dir[1] * jitter() * h;
        }
        Homography::from_points(corners, to).unwrap_or(Homography::IDENTITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;
    use crate::perturb::Perturbation;
    use image::RgbImage;

    #[test]
    fn corners_move_inward_within_the_distortion() {
        let m = Perspective { distortion: 0.1 }.motion(200, 100, &mut case_rng(0, "", 1));
        let (x, y) = m.map(0.0, 0.0);
        assert!((10.0..=20.0).contains(&x) && (5.0..=10.0).contains(&y), "{x} {y}");
        let (x, y) = m.map(200.0, 100.0);
        assert!((180.0..=190.0).contains(&x) && (90.0..=95.0).contains(&y), "{x} {y}");
    }

    #[test]
    fn zero_distortion_is_the_identity() {
        let img = RgbImage::from_fn(9, 5, |x, y| image::Rgb([(x * 20) as u8, (y * 50) as u8, 1]));
        assert_eq!(Warped(Perspective { distortion: 0.0 }).apply(&img, &mut case_rng(0, "", 0)), img);
    }
}

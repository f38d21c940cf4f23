//! Rotation: a camera a few degrees off level. The corners left uncovered are black.

use rand::Rng;

use super::warp::{Geometric, Homography, Warped};
use super::{ParamInfo, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "rotation",
    factor: RiskFactor::Geometry,
    summary: "rotate about the centre by the angle, clockwise or not at random; labels follow",
    params: &[ParamInfo { name: "angle", unit: "degrees", min: 0.0, max: 180.0, default: 10.0, integer: false }],
    severities: [&[3.0], &[6.0], &[10.0], &[15.0], &[25.0]],
    make: |p| Box::new(Warped(Rotation { angle: p.get("angle") })),
};

pub struct Rotation {
    pub angle: f64,
}

impl Geometric for Rotation {
    fn motion(&self, width: u32, height: u32, rng: &mut CaseRng) -> Homography {
        // The angle is the severity; only its direction is drawn, so every image is hit as hard.
        let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
        Homography::rotation(sign * self.angle, f64::from(width) / 2.0, f64::from(height) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;
    use crate::perturb::Perturbation;
    use image::RgbImage;

    #[test]
    fn zero_angle_keeps_the_image_and_half_turn_reverses_it() {
        let img = RgbImage::from_fn(6, 4, |x, y| image::Rgb([(x * 40) as u8, (y * 60) as u8, 7]));
        assert_eq!(Warped(Rotation { angle: 0.0 }).apply(&img, &mut case_rng(0, "", 0)), img);
        let turned = Warped(Rotation { angle: 180.0 }).apply(&img, &mut case_rng(0, "", 0));
        assert_eq!(turned, image::imageops::rotate180(&img));
    }

    #[test]
    fn half_turn_is_exact_on_odd_sizes() {
        // The centre is (w / 2, h / 2) in continuous pixels: on odd sides a centre rounded to a
        // whole pixel would shift the turned image by half a pixel and blur it.
        for (w, h) in [(33, 17), (17, 17), (1, 5)] {
            let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 13) as u8, (x ^ y) as u8]));
            let turned = Warped(Rotation { angle: 180.0 }).apply(&img, &mut case_rng(0, "", 0));
            assert_eq!(turned, image::imageops::rotate180(&img), "{w}x{h}");
        }
    }

    #[test]
    fn boxes_grow_to_hold_their_rotated_corners() {
        let moved = Warped(Rotation { angle: 45.0 })
            .apply_moving(&RgbImage::new(100, 100), &mut case_rng(0, "", 0))
            .motion
            .unwrap()
            .move_box([40.0, 40.0, 60.0, 60.0], 100, 100)
            .unwrap();
        let half = 10.0 * 2f64.sqrt();
        for (got, want) in moved.iter().zip([50.0 - half, 50.0 - half, 50.0 + half, 50.0 + half]) {
            assert!((got - want).abs() < 1e-9, "{moved:?}");
        }
    }
}

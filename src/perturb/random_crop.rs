//! Random crop: a tighter framing, a random window of the scene enlarged back to full size.

use rand::Rng;

use super::warp::{Geometric, Homography, Warped};
use super::{ParamInfo, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "random_crop",
    factor: RiskFactor::Geometry,
    summary: "keep a random window (each side shortened by the crop fraction), resized to the full size",
    params: &[ParamInfo {
        name: "crop",
        unit: "fraction of each side removed",
        min: 0.0,
        max: 0.9,
        default: 0.15,
        integer: false,
    }],
    severities: [&[0.05], &[0.1], &[0.15], &[0.2], &[0.3]],
    make: |p| Box::new(Warped(RandomCrop { crop: p.get("crop") })),
};

pub struct RandomCrop {
    pub crop: f64,
}

impl Geometric for RandomCrop {
    fn motion(&self, width: u32, height: u32, rng: &mut CaseRng) -> Homography {
        let (w, h) = (f64::from(width), f64::from(height));
        let keep = 1.0 - self.crop;
        let (x0, y0) = (rng.random::<f64>() * self.crop * w, rng.random::<f64>() * self.crop * h);
        // The window [x0, x0 + keep·w] × [y0, y0 + keep·h] fills the output.
        Homography::scale_translate(1.0 / keep, 1.0 / keep, -x0 / keep, -y0 / keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn the_window_fills_the_image() {
        let m = RandomCrop { crop: 0.2 }.motion(100, 50, &mut case_rng(0, "", 3));
        let inv = m.inverse().unwrap();
        let (x0, y0) = inv.map(0.0, 0.0);
        let (x1, y1) = inv.map(100.0, 50.0);
        assert!((x1 - x0 - 80.0).abs() < 1e-9 && (y1 - y0 - 40.0).abs() < 1e-9);
        assert!(x0 >= 0.0 && x1 <= 100.0 && y0 >= 0.0 && y1 <= 50.0);
    }
}

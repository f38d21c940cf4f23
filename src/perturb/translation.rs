//! Translation: the scene shifted in a random direction, as a badly centred camera; the band
//! uncovered is black.

use rand::Rng;

use super::warp::{Geometric, Homography, Warped};
use super::{ParamInfo, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "translation",
    factor: RiskFactor::Geometry,
    summary: "shift by the given fraction of the image size in a random direction; labels follow",
    params: &[ParamInfo {
        name: "shift",
        unit: "fraction of the image size",
        min: 0.0,
        max: 1.0,
        default: 0.1,
        integer: false,
    }],
    severities: [&[0.03], &[0.06], &[0.1], &[0.15], &[0.2]],
    make: |p| Box::new(Warped(Translation { shift: p.get("shift") })),
};

pub struct Translation {
    pub shift: f64,
}

impl Geometric for Translation {
    fn motion(&self, width: u32, height: u32, rng: &mut CaseRng) -> Homography {
        let angle = rng.random::<f64>() * std::f64::consts::TAU;
        let (dy, dx) = angle.sin_cos();
        Homography::scale_translate(1.0, 1.0, dx * self.shift * f64::from(width), dy * self.shift * f64::from(height))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn moves_by_the_shift_in_image_proportions() {
        let m = Translation { shift: 0.1 }.motion(200, 100, &mut case_rng(0, "", 5));
        let (dx, dy) = m.map(0.0, 0.0);
        let norm = (dx / 20.0).powi(2) + (dy / 10.0).powi(2);
        assert!((norm - 1.0).abs() < 1e-9, "{dx} {dy}");
        assert_eq!(m.map(3.0, 4.0), (3.0 + dx, 4.0 + dy));
    }
}

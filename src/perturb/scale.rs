//! Scale: the scene zoomed about its centre, as from a camera further away (factor < 1) or
//! closer (factor > 1).

use super::warp::{Geometric, Homography, Warped};
use super::{ParamInfo, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "scale",
    factor: RiskFactor::Geometry,
    summary: "zoom about the centre (below 1: objects shrink, the border turns black); labels follow",
    params: &[ParamInfo { name: "factor", unit: "size ratio", min: 0.1, max: 4.0, default: 0.8, integer: false }],
    // Zooming out: small objects get smaller, the usual failure.
    severities: [&[0.95], &[0.9], &[0.8], &[0.7], &[0.6]],
    make: |p| Box::new(Warped(Scale { factor: p.get("factor") })),
};

pub struct Scale {
    pub factor: f64,
}

impl Geometric for Scale {
    fn motion(&self, width: u32, height: u32, _rng: &mut CaseRng) -> Homography {
        let (cx, cy) = (f64::from(width) / 2.0, f64::from(height) / 2.0);
        Homography::scale_translate(self.factor, self.factor, cx * (1.0 - self.factor), cy * (1.0 - self.factor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn the_centre_stays_and_boxes_shrink() {
        let m = Scale { factor: 0.5 }.motion(100, 60, &mut case_rng(0, "", 0));
        assert_eq!(m.map(50.0, 30.0), (50.0, 30.0));
        assert_eq!(m.move_box([0.0, 0.0, 100.0, 60.0], 100, 60), Some([25.0, 15.0, 75.0, 45.0]));
    }
}

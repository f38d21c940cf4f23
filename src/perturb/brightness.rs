//! Brightness: raise the HSV value channel (over-exposure), as imagecorruptions does.

use image::RgbImage;

use super::{to_u8, ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::seed::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "brightness",
    factor: RiskFactor::Lighting,
    summary: "brighter exposure: adds to the HSV value channel (negative darkens)",
    params: &[ParamInfo { name: "delta", unit: "fraction of full scale", min: -1.0, max: 1.0, default: 0.3 }],
    // imagecorruptions' brightness severities.
    severities: [&[0.1], &[0.2], &[0.3], &[0.4], &[0.5]],
    build: |v| Box::new(Brightness { delta: v[0] as f32 }),
};

pub struct Brightness {
    pub delta: f32,
}

impl Perturbation for Brightness {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let mut out = image.clone();
        for px in out.pixels_mut() {
            let [r, g, b] = px.0.map(|c| c as f32 / 255.0);
            let v = r.max(g).max(b);
            let target = (v + self.delta).clamp(0.0, 1.0);
            // Hue and saturation stay, so every channel scales with V; black has no hue (grey).
            px.0 = if v > 0.0 { [r, g, b].map(|c| to_u8(c * target / v * 255.0)) } else { [to_u8(target * 255.0); 3] };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::case_rng;

    #[test]
    fn keeps_hue_and_raises_value() {
        let img = RgbImage::from_pixel(1, 1, image::Rgb([100, 50, 0]));
        let out = Brightness { delta: 0.2 }.apply(&img, &mut case_rng(0, "", 0));
        // V goes from 100/255 to 100/255 + 0.2 = 151/255; the other channels scale alike.
        assert_eq!(out.get_pixel(0, 0).0, [151, 76, 0]);
    }

    #[test]
    fn negative_delta_darkens_to_black() {
        let img = RgbImage::from_pixel(1, 1, image::Rgb([100, 50, 0]));
        let out = Brightness { delta: -1.0 }.apply(&img, &mut case_rng(0, "", 0));
        assert_eq!(out.get_pixel(0, 0).0, [0, 0, 0]);
    }
}

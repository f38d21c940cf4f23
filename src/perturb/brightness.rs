//! Brightness: raise the HSV value channel (over-exposure), as imagecorruptions does.

use image::RgbImage;

use super::{to_u8, ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "brightness",
    factor: RiskFactor::Lighting,
    summary: "brighter exposure: adds to the HSV value channel (negative darkens)",
    params: &[ParamInfo {
        name: "delta",
        unit: "fraction of full scale",
        min: -1.0,
        max: 1.0,
        default: 0.3,
        integer: false,
    }],
    // imagecorruptions' brightness severities.
    severities: [&[0.1], &[0.2], &[0.3], &[0.4], &[0.5]],
    make: |p| Box::new(Brightness { delta: p.get("delta") as f32 }),
};

pub struct Brightness {
    pub delta: f32,
}

impl Perturbation for Brightness {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        // An output channel depends only on itself and the pixel's value V = max(r, g, b): one
        // table over (V, channel) replaces a float division per channel and pixel.
        let mut table = vec![0u8; 256 * 256];
        for v in 0..256 {
            let vf = v as f32 / 255.0;
            let target = (vf + self.delta).clamp(0.0, 1.0);
            for c in 0..=v {
                // Hue and saturation stay, so every channel scales with V; black has no hue (grey).
                table[v * 256 + c] =
                    if v > 0 { to_u8(c as f32 / 255.0 * target / vf * 255.0) } else { to_u8(target * 255.0) };
            }
        }
        let mut out = image.clone();
        for px in out.chunks_exact_mut(3) {
            let row = &table[usize::from(px[0].max(px[1]).max(px[2])) * 256..][..256];
            for c in px.iter_mut() {
                *c = row[usize::from(*c)];
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn keeps_hue_and_raises_value() {
        let img = RgbImage::from_pixel(1, 1, image::Rgb([100, 50, 0]));
        let out = Brightness { delta: 0.2 }.apply(&img, &mut case_rng(0, "", 0));
        // V goes from 100/255 to 100/255 + 0.2 = 151/255; the other channels scale alike.
        assert_eq!(out.get_pixel(0, 0).0, [151, 76, 0]);
    }

    #[test]
    fn table_equals_the_per_pixel_formula() {
        use rand::Rng;
        let mut rng = case_rng(1, "brightness", 0);
        let img = RgbImage::from_fn(64, 64, |_, _| image::Rgb(rng.random()));
        for delta in [-0.7, -0.1, 0.0, 0.3, 0.9] {
            let out = Brightness { delta }.apply(&img, &mut case_rng(0, "", 0));
            for (p, q) in img.pixels().zip(out.pixels()) {
                let [r, g, b] = p.0.map(|c| c as f32 / 255.0);
                let v = r.max(g).max(b);
                let target = (v + delta).clamp(0.0, 1.0);
                let want =
                    if v > 0.0 { [r, g, b].map(|c| to_u8(c * target / v * 255.0)) } else { [to_u8(target * 255.0); 3] };
                assert_eq!(q.0, want, "{:?} at delta {delta}", p.0);
            }
        }
    }

    #[test]
    fn negative_delta_darkens_to_black() {
        let img = RgbImage::from_pixel(1, 1, image::Rgb([100, 50, 0]));
        let out = Brightness { delta: -1.0 }.apply(&img, &mut case_rng(0, "", 0));
        assert_eq!(out.get_pixel(0, 0).0, [0, 0, 0]);
    }
}

//! Hue, saturation and value shifted at random: white balance, colour processing or exposure gone off.

use image::RgbImage;
use rand::Rng;

use super::filters::round_u8;
use super::simd::{map_pixels, PixelKernel};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "hue_saturation_value",
    factor: RiskFactor::Color,
    summary: "HSV hue rotated, saturation and value shifted, each by a random amount up to its limit",
    params: &[
        ParamInfo {
            name: "hue_shift",
            unit: "degrees (shift drawn uniformly within +-limit)",
            min: 0.0,
            max: 180.0,
            default: 40.0,
            integer: false,
        },
        ParamInfo {
            name: "sat_shift",
            unit: "fraction of full saturation (shift drawn uniformly within +-limit)",
            min: 0.0,
            max: 1.0,
            default: 0.12,
            integer: false,
        },
        ParamInfo {
            name: "val_shift",
            unit: "fraction of full scale (shift drawn uniformly within +-limit)",
            min: 0.0,
            max: 1.0,
            default: 0.08,
            integer: false,
        },
    ],
    // Severity 3 is albumentations' HueSaturationValue default: 20 OpenCV hue units (40 degrees),
    // 30 and 20 of 255 for saturation and value.
    severities: [&[10.0, 0.04, 0.03], &[20.0, 0.08, 0.05], &[40.0, 0.12, 0.08], &[60.0, 0.2, 0.12], &[90.0, 0.3, 0.2]],
    make: |p| {
        Box::new(HueSaturationValue {
            hue: p.get("hue_shift") as f32,
            saturation: p.get("sat_shift") as f32,
            value: p.get("val_shift") as f32,
        })
    },
};

pub struct HueSaturationValue {
    pub hue: f32,
    pub saturation: f32,
    pub value: f32,
}

impl Perturbation for HueSaturationValue {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let mut draw = |limit: f32| rng.random_range(-limit..=limit);
        let (dh, ds, dv) = (draw(self.hue) / 60.0, draw(self.saturation), draw(self.value) * 255.0);
        shift_hsv(image, dh, ds, dv)
    }
}

/// Shifts hue (in sixths of a turn), saturation and value of every pixel: OpenCV's float HSV
/// round trip, with both conversions written branch-free so that the loop vectorises.
pub(crate) fn shift_hsv(image: &RgbImage, dh: f32, ds: f32, dv: f32) -> RgbImage {
    map_pixels(image, &HsvShift { dh: dh.rem_euclid(6.0), ds, dv })
}

struct HsvShift {
    dh: f32,
    ds: f32,
    dv: f32,
}

impl PixelKernel for HsvShift {
    #[inline(always)]
    fn pixel(&self, [r8, g8, b8]: [u8; 3]) -> [u8; 3] {
        let v8 = r8.max(g8).max(b8);
        let delta8 = v8 - r8.min(g8).min(b8);
        let [r, g, b, v, delta] = [r8, g8, b8, v8, delta8].map(f32::from);
        // RGB -> HSV, hue in sixths of a turn. Grey (delta 0) has hue and saturation 0; its
        // divisions by zero are computed and not picked.
        let inv = 1.0 / delta;
        let h = if v == r {
            (g - b) * inv
        } else if v == g {
            2.0 + (b - r) * inv
        } else {
            4.0 + (r - g) * inv
        };
        let h = if h < 0.0 { h + 6.0 } else { h };
        let s = delta * (1.0 / v);
        let (h, s) = if delta8 == 0 { (0.0, 0.0) } else { (h, s) };
        // The shift.
        let h = h + self.dh;
        let h = if h >= 6.0 { h - 6.0 } else { h };
        let s = (s + self.ds).clamp(0.0, 1.0);
        let v = (v + self.dv).clamp(0.0, 255.0);
        // HSV -> RGB by sector; a hue of 6 (rounding) counts as sector 5, as it always has.
        let sector = (h as u32).min(5);
        let f = h - (h as u32) as f32;
        let lo = v * (1.0 - s);
        let falling = v * (1.0 - s * f);
        let rising = v * (1.0 - s * (1.0 - f));
        let out_r = match sector {
            0 | 5 => v,
            1 => falling,
            2 | 3 => lo,
            _ => rising,
        };
        let out_g = match sector {
            0 => rising,
            1 | 2 => v,
            3 => falling,
            _ => lo,
        };
        let out_b = match sector {
            0 | 1 => lo,
            2 => rising,
            3 | 4 => v,
            _ => falling,
        };
        [round_u8(out_r), round_u8(out_g), round_u8(out_b)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    // The per-pixel conversions this module always had, kept as the reference for the kernel.
    /// `1 / i` for every difference of two bytes: HSV conversion without a division a pixel.
    static RECIPROCALS: [f32; 256] = {
        let mut t = [0f32; 256];
        let mut i = 1;
        while i < 256 {
            t[i] = 1.0 / i as f32;
            i += 1;
        }
        t
    };

    /// HSV of a pixel as OpenCV's conversion: hue in sextants [0, 6), saturation 0-1, value 0-255.
    /// Grey has hue 0 (red), so raising its saturation tints it red, as there.
    #[inline]
    fn rgb_to_hsv(r: u8, g: u8, b: u8) -> [f32; 3] {
        let v = r.max(g).max(b);
        let delta = v - r.min(g).min(b);
        if delta == 0 {
            return [0.0, 0.0, v as f32];
        }
        let inv = RECIPROCALS[delta as usize];
        let [r, g, b] = [r, g, b].map(f32::from);
        let vf = v as f32;
        let h = if vf == r {
            (g - b) * inv
        } else if vf == g {
            2.0 + (b - r) * inv
        } else {
            4.0 + (r - g) * inv
        };
        [if h < 0.0 { h + 6.0 } else { h }, delta as f32 * RECIPROCALS[v as usize], vf]
    }

    /// RGB (0-255 floats) of hue in sextants [0, 6), saturation 0-1 and value 0-255.
    #[inline]
    fn hsv_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
        // Truncation is floor for h >= 0, without a libm call.
        let sector = h as u32;
        let f = h - sector as f32;
        let p = v * (1.0 - s);
        let q = v * (1.0 - s * f);
        let t = v * (1.0 - s * (1.0 - f));
        match sector {
            0 => [v, t, p],
            1 => [q, v, p],
            2 => [p, v, t],
            3 => [p, q, v],
            4 => [t, p, v],
            _ => [v, p, q],
        }
    }

    /// Rotate hue by `dh` sextants, add `ds` to saturation (0-1) and `dv` to value (0-255).
    fn shift_hsv_reference(image: &RgbImage, dh: f32, ds: f32, dv: f32) -> RgbImage {
        // Into [0, 6) once, so that one subtraction a pixel wraps the rotated hue.
        let dh = dh.rem_euclid(6.0);
        let mut out = image.clone();
        for px in out.chunks_exact_mut(3) {
            let [h, s, v] = rgb_to_hsv(px[0], px[1], px[2]);
            let h = h + dh;
            let h = if h >= 6.0 { h - 6.0 } else { h };
            let rgb = hsv_to_rgb(h, (s + ds).clamp(0.0, 1.0), (v + dv).clamp(0.0, 255.0));
            for (o, c) in px.iter_mut().zip(rgb) {
                *o = round_u8(c);
            }
        }
        out
    }

    #[test]
    fn the_kernel_equals_the_per_pixel_round_trip() {
        use rand::Rng;
        let mut rng = case_rng(4, "hsv", 0);
        let mut img = RgbImage::from_fn(256, 300, |_, _| image::Rgb(rng.random()));
        // Greys, primaries, secondaries and near-ties, where the branches meet.
        let special = [
            [0, 0, 0],
            [255, 255, 255],
            [9, 9, 9],
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [255, 255, 0],
            [0, 255, 255],
            [255, 0, 255],
            [200, 200, 199],
            [199, 200, 200],
            [200, 199, 200],
            [1, 0, 0],
        ];
        for (x, rgb) in special.into_iter().enumerate() {
            img.put_pixel(x as u32, 0, image::Rgb(rgb));
        }
        for (dh, ds, dv) in [(0.0, 0.0, 0.0), (2.0, 0.0, 0.0), (5.99, 0.1, -20.0), (0.7, -0.3, 40.0), (3.0, 1.0, 255.0)]
        {
            assert_eq!(shift_hsv(&img, dh, ds, dv), shift_hsv_reference(&img, dh, ds, dv), "{dh} {ds} {dv}");
        }
    }

    fn all_colours() -> RgbImage {
        RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x * 13 + y * 7) % 256) as u8]))
    }

    #[test]
    fn no_shift_is_identity() {
        let img = all_colours();
        assert_eq!(shift_hsv(&img, 0.0, 0.0, 0.0), img);
        let op = HueSaturationValue { hue: 0.0, saturation: 0.0, value: 0.0 };
        assert_eq!(op.apply(&img, &mut case_rng(0, "t", 0)), img);
    }

    #[test]
    fn a_third_of_a_turn_maps_primaries_round() {
        let img = RgbImage::from_fn(3, 1, |x, _| image::Rgb([[255, 0, 0], [0, 255, 0], [0, 0, 255]][x as usize]));
        let out = shift_hsv(&img, 2.0, 0.0, 0.0);
        let px: Vec<[u8; 3]> = out.pixels().map(|p| p.0).collect();
        assert_eq!(px, [[0, 255, 0], [0, 0, 255], [255, 0, 0]]);
        // A full turn back is the identity.
        assert_eq!(shift_hsv(&img, -6.0, 0.0, 0.0), img);
    }

    #[test]
    fn saturation_and_value_shifts() {
        let img = RgbImage::from_pixel(1, 1, image::Rgb([200, 150, 100]));
        // S 0.5 -> 0.25: the min rises to 150, the middle channel keeps its place (175).
        assert_eq!(shift_hsv(&img, 0.0, -0.25, 0.0).get_pixel(0, 0).0, [200, 175, 150]);
        // V 200 -> 100 at the same hue and saturation halves every channel.
        assert_eq!(shift_hsv(&img, 0.0, 0.0, -100.0).get_pixel(0, 0).0, [100, 75, 50]);
    }
}

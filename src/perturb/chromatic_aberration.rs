//! Lateral chromatic aberration: a lens magnifies red and blue slightly differently, so colour
//! fringes grow toward the corners.

use image::RgbImage;

use super::filters::round_u8;
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "chromatic_aberration",
    factor: RiskFactor::Sensor,
    summary: "red scaled up and blue scaled down about the centre, by `shift` pixels at the corners",
    params: &[ParamInfo {
        name: "shift",
        unit: "pixels of red/blue displacement at the image corners",
        min: 0.0,
        max: 50.0,
        default: 3.0,
        integer: false,
    }],
    // A pixel or two is typical of phone and kit lenses at the corners; 6 a poor wide-angle lens.
    // albumentations' ChromaticAberration (a radial distortion per channel) at its default limits
    // moves a 640x480 image's corners by about 3 pixels on average (9 at most): severity 3.
    severities: [&[1.0], &[2.0], &[3.0], &[4.0], &[6.0]],
    make: |p| Box::new(ChromaticAberration { shift: p.get("shift") as f32 }),
};

pub struct ChromaticAberration {
    pub shift: f32,
}

/// For each output pixel of a line of `n`, the two source pixels (clamped to the line) and the
/// weight of the second, for a magnification `scale` about the line's centre.
fn taps(n: usize, scale: f32) -> Vec<(usize, usize, f32)> {
    let c = (n as f32 - 1.0) / 2.0;
    let last = n.saturating_sub(1) as f32;
    (0..n)
        .map(|i| {
            let src = (c + (i as f32 - c) / scale).clamp(0.0, last);
            let i0 = src as usize;
            (i0, (i0 + 1).min(n - 1), src - i0 as f32)
        })
        .collect()
}

/// Channel `c` of `src` resampled bilinearly through `xs` and `ys` into `dst`.
fn resample(src: &[u8], dst: &mut [u8], w: usize, c: usize, xs: &[(usize, usize, f32)], ys: &[(usize, usize, f32)]) {
    let stride = w * 3;
    for (out, &(y0, y1, fy)) in dst.chunks_exact_mut(stride).zip(ys) {
        let (r0, r1) = (&src[y0 * stride..(y0 + 1) * stride], &src[y1 * stride..(y1 + 1) * stride]);
        for (px, &(x0, x1, fx)) in out.chunks_exact_mut(3).zip(xs) {
            let (a, b) = (r0[x0 * 3 + c] as f32, r0[x1 * 3 + c] as f32);
            let (d, e) = (r1[x0 * 3 + c] as f32, r1[x1 * 3 + c] as f32);
            let top = a + (b - a) * fx;
            let bottom = d + (e - d) * fx;
            px[c] = round_u8(top + (bottom - top) * fy);
        }
    }
}

impl Perturbation for ChromaticAberration {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let mut out = image.clone();
        // Distance from the centre to the corner pixels' centres.
        let corner = ((w as f32 - 1.0) / 2.0).hypot((h as f32 - 1.0) / 2.0);
        if w == 0 || h == 0 || corner == 0.0 || self.shift <= 0.0 {
            return out;
        }
        // Red magnified so that the corners move out by `shift`; blue by the inverse, so that
        // they move in by about as much and the scale never reaches zero.
        let scale = 1.0 + self.shift / corner;
        for (c, s) in [(0, scale), (2, 1.0 / scale)] {
            resample(image.as_raw(), &mut out, w, c, &taps(w, s), &taps(h, s));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    fn texture(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 23 % 256) as u8, (y * 17 % 256) as u8, ((x * y) % 256) as u8]))
    }

    #[test]
    fn green_and_the_centre_stay_while_red_and_blue_move() {
        let img = texture(21, 15);
        let out = ChromaticAberration { shift: 3.0 }.apply(&img, &mut case_rng(0, "", 0));
        assert!(out.pixels().zip(img.pixels()).all(|(a, b)| a[1] == b[1]));
        assert_eq!(out.get_pixel(10, 7), img.get_pixel(10, 7));
        assert_ne!(out, img);
    }

    #[test]
    fn red_is_magnified_about_the_centre() {
        // A vertical red line right of the centre moves out; blue moves in.
        let mut img = RgbImage::new(41, 1);
        img.put_pixel(30, 0, image::Rgb([255, 0, 255]));
        let out = ChromaticAberration { shift: 10.0 }.apply(&img, &mut case_rng(0, "", 0));
        let peak = |c: usize| (0..41).max_by_key(|&x| out.get_pixel(x, 0)[c]).unwrap();
        // Scale 1.5: red at 20 + 10 * 1.5 = 35; blue at 20 + 10 / 1.5 = 26.7.
        assert_eq!(peak(0), 35);
        assert_eq!(peak(2), 27);
    }

    #[test]
    fn zero_shift_and_tiny_images_are_unchanged() {
        let img = texture(9, 4);
        assert_eq!(ChromaticAberration { shift: 0.0 }.apply(&img, &mut case_rng(0, "", 0)), img);
        let one = texture(1, 1);
        assert_eq!(ChromaticAberration { shift: 5.0 }.apply(&one, &mut case_rng(0, "", 0)), one);
    }
}

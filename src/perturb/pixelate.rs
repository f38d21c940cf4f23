//! Pixelation: the image shrunk with box averaging and blown up again with nearest neighbours.

use image::RgbImage;

use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "pixelate",
    factor: RiskFactor::ImageQuality,
    summary: "low resolution upscaled: box downscale by `scale`, nearest-neighbour upscale back",
    params: &[ParamInfo {
        name: "scale",
        unit: "fraction of the resolution kept",
        min: 0.01,
        max: 1.0,
        default: 0.4,
        integer: false,
    }],
    // imagecorruptions' pixelate severities.
    severities: [&[0.6], &[0.5], &[0.4], &[0.3], &[0.25]],
    make: |p| Box::new(Pixelate { scale: p.get("scale") }),
};

pub struct Pixelate {
    pub scale: f64,
}

impl Pixelate {
    /// The reduced size, `int(side * scale)` in f64 as imagecorruptions (at least 1 px, where
    /// Pillow would refuse the resize).
    pub(super) fn reduced(&self, w: usize, h: usize) -> (usize, usize) {
        (((w as f64 * self.scale) as usize).max(1), ((h as f64 * self.scale) as usize).max(1))
    }
}

impl Perturbation for Pixelate {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return image.clone();
        }
        // As imagecorruptions: PIL resize(BOX) to int(size * scale), then resize(NEAREST) back.
        let (sw, sh) = self.reduced(w, h);
        let small = box_downscale(image.as_raw(), w, h, sw, sh);
        let xs = nearest_sources(sw, w);
        let ys = nearest_sources(sh, h);
        let stride = w * 3;
        let mut out = vec![0u8; h * stride];
        for (y, &sy) in ys.iter().enumerate() {
            if y > 0 && ys[y - 1] == sy {
                // Rows from the same source row are equal: copy the previous one.
                out.copy_within((y - 1) * stride..y * stride, y * stride);
                continue;
            }
            let row = &small[sy * sw * 3..(sy + 1) * sw * 3];
            for (o, &sx) in out[y * stride..(y + 1) * stride].chunks_exact_mut(3).zip(&xs) {
                o.copy_from_slice(&row[sx * 3..sx * 3 + 3]);
            }
        }
        RgbImage::from_raw(w as u32, h as u32, out).expect("buffer sized from the image")
    }
}

/// Pillow's fixed-point precision for 8-bit resampling.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow's `precompute_coeffs` for the box filter: per output pixel the first input pixel and
/// fixed-point weights of the inputs whose centres fall in its box.
fn box_coeffs(in_size: usize, out_size: usize) -> Vec<(usize, Vec<i32>)> {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 0.5 * filterscale;
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            let xmin = ((center - support + 0.5) as isize).max(0) as usize;
            let xmax = ((center + support + 0.5) as usize).min(in_size);
            let w: Vec<f64> = (xmin..xmax)
                .map(|x| {
                    let t = (x as f64 - center + 0.5) / filterscale;
                    if t > -0.5 && t <= 0.5 {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            let total: f64 = w.iter().sum();
            let norm = if total != 0.0 { total } else { 1.0 };
            (xmin, w.iter().map(|&v| (0.5 + v / norm * (1 << PRECISION_BITS) as f64) as i32).collect())
        })
        .collect()
}

/// Pillow's `clip8`: a fixed-point sum (with its rounding half already added) to a byte.
#[inline]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Pillow's `resize(BOX)`: a horizontal pass to bytes, then a vertical one. Weights sum to
/// 2^22, so 255 times them (plus the rounding half) fits an `i32`.
fn box_downscale(src: &[u8], w: usize, h: usize, sw: usize, sh: usize) -> Vec<u8> {
    let half = 1i32 << (PRECISION_BITS - 1);
    let cx = box_coeffs(w, sw);
    let cy = box_coeffs(h, sh);
    let mut tmp = vec![0u8; h * sw * 3];
    for (row, out) in src.chunks_exact(w * 3).zip(tmp.chunks_exact_mut(sw * 3)) {
        for ((xmin, k), o) in cx.iter().zip(out.chunks_exact_mut(3)) {
            let mut acc = [half; 3];
            for (px, &kk) in row[xmin * 3..].chunks_exact(3).zip(k) {
                for c in 0..3 {
                    acc[c] += px[c] as i32 * kk;
                }
            }
            for c in 0..3 {
                o[c] = clip8(acc[c]);
            }
        }
    }
    let stride = sw * 3;
    let mut out = vec![0u8; sh * stride];
    let mut acc = vec![0i32; stride];
    for ((ymin, k), o) in cy.iter().zip(out.chunks_exact_mut(stride)) {
        acc.fill(half);
        for (row, &kk) in tmp[ymin * stride..].chunks_exact(stride).zip(k) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v as i32 * kk;
            }
        }
        for (o, &a) in o.iter_mut().zip(&acc) {
            *o = clip8(a);
        }
    }
    out
}

/// Source pixel of each output pixel in Pillow's nearest-neighbour resize (`ImagingScaleAffine`):
/// floor((o + 0.5) * in / out), but accumulated step by step as Pillow does along both axes.
/// The sum drifts from the product by an ulp or so, which decides the source where the exact
/// position is an integer (96 rows to 240: (2 + 0.5) * 0.4 = 1, the sum 0.2 + 0.4 + 0.4 is not).
fn nearest_sources(in_size: usize, out_size: usize) -> Vec<usize> {
    let step = in_size as f64 / out_size as f64;
    let mut pos = step * 0.5;
    (0..out_size)
        .map(|_| {
            let p = pos;
            pos += step;
            (p.max(0.0) as usize).min(in_size - 1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn halving_averages_two_by_two_blocks() {
        let img = RgbImage::from_fn(4, 2, |x, y| image::Rgb([(x * 10 + y * 100) as u8, 0, 255]));
        let out = Pixelate { scale: 0.5 }.apply(&img, &mut case_rng(0, "", 0));
        // Block means: (0 + 10 + 100 + 110) / 4 = 55 and (20 + 30 + 120 + 130) / 4 = 75.
        let reds: Vec<u8> = out.pixels().map(|p| p[0]).collect();
        assert_eq!(reds, [55, 55, 75, 75, 55, 55, 75, 75]);
        assert!(out.pixels().all(|p| p[1] == 0 && p[2] == 255));
    }

    #[test]
    fn nearest_rows_accumulate_like_pillow() {
        // Pillow 13 enlarging 96 rows to 240 reads row 2 for output row 7 (its running sum of
        // 0.4 steps lands just under 3) and row 20 for row 52; the product (o + 0.5) * 0.4
        // would read rows 3 and 21. Measured with `Image.resize((1, 240), NEAREST)`.
        let ys = nearest_sources(96, 240);
        assert_eq!((ys[7], ys[52]), (2, 20));
        assert!(ys.windows(2).all(|w| w[1] >= w[0] && w[1] - w[0] <= 1));
    }

    #[test]
    fn box_weights_cover_each_input_once() {
        let c = box_coeffs(96, 57);
        let mut seen = vec![0; 96];
        for (xmin, k) in &c {
            for (i, &w) in k.iter().enumerate() {
                if w > 0 {
                    seen[xmin + i] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
    }
}

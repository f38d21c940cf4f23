//! Downscale: a low-resolution camera or an over-compressed stream, upsampled back to size.

use image::RgbImage;

use super::filters::round_u8;
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "downscale",
    factor: RiskFactor::ImageQuality,
    summary: "area-average down by `factor` (as a sensor bins pixels), bilinear back up (as a resize does)",
    params: &[ParamInfo {
        name: "factor",
        unit: "ratio of the original to the reduced resolution (1 = unchanged)",
        min: 1.0,
        max: 100.0,
        default: 4.0,
        integer: false,
    }],
    // Severity 3 is albumentations' Downscale default scale (0.25). Its default resamples with
    // nearest neighbours (blocky, much like `pixelate`); here the reduced image is smooth.
    severities: [&[2.0], &[3.0], &[4.0], &[5.0], &[6.0]],
    make: |p| Box::new(Downscale { factor: p.get("factor") as f32 }),
};

pub struct Downscale {
    pub factor: f32,
}

/// Weights of OpenCV's `INTER_AREA` reduction of a line of `n` to `m <= n`: each output
/// averages the inputs its span covers, partial pixels by the part covered. Returned as
/// (first input, weights) per output, the weights flattened into one list.
fn area_weights(n: usize, m: usize) -> (Vec<(usize, usize)>, Vec<f32>) {
    let scale = n as f64 / m as f64;
    let (mut spans, mut weights) = (Vec::with_capacity(m), Vec::new());
    for o in 0..m {
        let (lo, hi) = (o as f64 * scale, ((o + 1) as f64 * scale).min(n as f64));
        let first = lo.floor() as usize;
        let start = weights.len();
        let mut i = first;
        while (i as f64) < hi && i < n {
            let cover = hi.min((i + 1) as f64) - lo.max(i as f64);
            weights.push((cover / scale) as f32);
            i += 1;
        }
        spans.push((first, start));
    }
    (spans, weights)
}

/// Bilinear taps of OpenCV's `INTER_LINEAR` enlargement of a line of `m` to `n` (pixel
/// centres aligned, edges clamped): the two sources of each output and the second's weight.
fn linear_taps(m: usize, n: usize) -> Vec<(usize, usize, f32)> {
    let scale = m as f32 / n as f32;
    (0..n)
        .map(|i| {
            let src = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, (m - 1) as f32);
            let i0 = src as usize;
            (i0, (i0 + 1).min(m - 1), src - i0 as f32)
        })
        .collect()
}

/// Area reduction of an RGB buffer, rounded to bytes (what a low-resolution camera would store).
#[inline(always)]
fn reduce(src: &[u8], w: usize, h: usize, sw: usize, sh: usize) -> Vec<u8> {
    let (xspans, xw) = area_weights(w, sw);
    let (yspans, yw) = area_weights(h, sh);
    let span_len = |spans: &[(usize, usize)], weights: &[f32], o: usize| {
        spans.get(o + 1).map_or(weights.len(), |s| s.1) - spans[o].1
    };
    // Horizontal pass into floats, then vertical over whole rows.
    let mut tmp = vec![0f32; h * sw * 3];
    for (row, out) in src.chunks_exact(w * 3).zip(tmp.chunks_exact_mut(sw * 3)) {
        for (o, px) in out.chunks_exact_mut(3).enumerate() {
            let (first, start) = xspans[o];
            let len = span_len(&xspans, &xw, o);
            for (k, &wt) in xw[start..start + len].iter().enumerate() {
                let s = &row[(first + k) * 3..(first + k) * 3 + 3];
                for c in 0..3 {
                    px[c] += wt * s[c] as f32;
                }
            }
        }
    }
    let stride = sw * 3;
    let mut out = vec![0u8; sh * stride];
    let mut acc = vec![0f32; stride];
    for (o, row) in out.chunks_exact_mut(stride).enumerate() {
        let (first, start) = yspans[o];
        let len = span_len(&yspans, &yw, o);
        acc.fill(0.0);
        for (k, &wt) in yw[start..start + len].iter().enumerate() {
            for (a, &v) in acc.iter_mut().zip(&tmp[(first + k) * stride..(first + k + 1) * stride]) {
                *a += wt * v;
            }
        }
        for (o, &a) in row.iter_mut().zip(&acc) {
            *o = round_u8(a);
        }
    }
    out
}

/// Bilinear enlargement of an `sw`x`sh` RGB buffer to `w`x`h`.
#[inline(always)]
fn enlarge(small: &[u8], sw: usize, sh: usize, w: usize, h: usize) -> Vec<u8> {
    let xs = linear_taps(sw, w);
    let ys = linear_taps(sh, h);
    let sstride = sw * 3;
    // Horizontal pass of every reduced row once, then blend row pairs.
    let mut rows = vec![0f32; sh * w * 3];
    for (srow, row) in small.chunks_exact(sstride).zip(rows.chunks_exact_mut(w * 3)) {
        for (px, &(x0, x1, f)) in row.chunks_exact_mut(3).zip(&xs) {
            for c in 0..3 {
                let (a, b) = (srow[x0 * 3 + c] as f32, srow[x1 * 3 + c] as f32);
                px[c] = a + (b - a) * f;
            }
        }
    }
    let stride = w * 3;
    let mut out = vec![0u8; h * stride];
    for (row, &(y0, y1, f)) in out.chunks_exact_mut(stride).zip(&ys) {
        let (a, b) = (&rows[y0 * stride..(y0 + 1) * stride], &rows[y1 * stride..(y1 + 1) * stride]);
        for ((o, &va), &vb) in row.iter_mut().zip(a).zip(b) {
            *o = round_u8(va + (vb - va) * f);
        }
    }
    out
}

impl Perturbation for Downscale {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return image.clone();
        }
        let factor = self.factor.max(1.0);
        let reduced = |n: usize| ((n as f32 / factor).round() as usize).clamp(1, n);
        let (sw, sh) = (reduced(w), reduced(h));
        // Rows of floats: compiled for the widest vectors the CPU has.
        super::simd::vectorised(
            #[inline(always)]
            || {
                let small = reduce(image.as_raw(), w, h, sw, sh);
                let out = enlarge(&small, sw, sh, w, h);
                RgbImage::from_raw(w as u32, h as u32, out).expect("buffer sized from the image")
            },
        )
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
    fn factor_one_is_identity() {
        let img = texture(13, 7);
        assert_eq!(Downscale { factor: 1.0 }.apply(&img, &mut case_rng(0, "", 0)), img);
    }

    #[test]
    fn halving_a_checkerboard_gives_flat_grey() {
        let img = RgbImage::from_fn(8, 6, |x, y| image::Rgb([if (x + y) % 2 == 0 { 0 } else { 255 }; 3]));
        let out = Downscale { factor: 2.0 }.apply(&img, &mut case_rng(0, "", 0));
        // Each 2x2 block averages to 127.5, stored as 128; the enlargement of a flat image is flat.
        assert!(out.iter().all(|&v| v == 128));
    }

    #[test]
    fn area_weights_cover_each_input_once() {
        let (spans, weights) = area_weights(10, 3);
        let mut cover = [0f64; 10];
        for (o, &(first, start)) in spans.iter().enumerate() {
            let end = spans.get(o + 1).map_or(weights.len(), |s| s.1);
            for (k, &wt) in weights[start..end].iter().enumerate() {
                cover[first + k] += wt as f64 * 10.0 / 3.0;
            }
        }
        assert!(cover.iter().all(|c| (c - 1.0).abs() < 1e-5), "{cover:?}");
    }
}

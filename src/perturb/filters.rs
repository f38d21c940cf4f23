//! Shared building blocks: float buffers, border rules, separable filters, centre zoom, motion streaks.
//!
//! Buffers are interleaved rows of `channels` floats (0-255 unless a caller says otherwise). The
//! inner loops run over whole rows with fixed offsets so that the compiler can vectorise them.

use image::RgbImage;

/// Channel values of an image as interleaved floats, 0-255.
#[inline(always)]
pub(crate) fn to_f32(image: &RgbImage) -> Vec<f32> {
    image.as_raw().iter().map(|&v| v as f32).collect()
}

/// A 0-255 float to a byte: rounded half up and clamped, as `to_u8` for every value that
/// rounding can tell apart. `f32::round` is a libm call on baseline x86-64; the saturating cast
/// of `v + 0.5` is a couple of instructions, which matters once per channel value.
///
/// Written as a clamp and an unchecked conversion rather than `as u8`, which gives the same byte
/// for every input (NaN included: `max` drops it for 0) but which the compiler keeps scalar:
/// this form vectorises.
#[inline]
#[allow(clippy::manual_clamp)] // `clamp` keeps a NaN, which the conversion must not see
pub(crate) fn round_u8(v: f32) -> u8 {
    let clamped = (v + 0.5).max(0.0).min(255.0);
    // SAFETY: `clamped` is a number in 0..=255 (never NaN: `max` returns 0 for NaN), so it
    // converts to an i32 without overflow.
    unsafe { clamped.to_int_unchecked::<i32>() as u8 }
}

/// An image from interleaved 0-255 floats, rounding and clamping each value.
#[inline(always)]
pub(crate) fn from_f32(width: u32, height: u32, data: &[f32]) -> RgbImage {
    RgbImage::from_raw(width, height, data.iter().map(|&v| round_u8(v)).collect()).expect("buffer sized from the image")
}

/// How a filter reads beyond the edge of a line of pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Border {
    /// Repeat the edge pixel (scipy / scikit-image `mode='nearest'`, OpenCV `BORDER_REPLICATE`).
    Nearest,
    /// Mirror without repeating the edge pixel (OpenCV's default, `BORDER_REFLECT_101`).
    Reflect101,
}

impl Border {
    /// The in-line index read for index `i` of a line of `n >= 1` pixels.
    #[inline]
    pub(crate) fn index(self, i: isize, n: usize) -> usize {
        let last = n as isize - 1;
        if (0..=last).contains(&i) {
            return i as usize;
        }
        match self {
            Border::Nearest => i.clamp(0, last) as usize,
            Border::Reflect101 if last == 0 => 0,
            Border::Reflect101 => {
                // Mirroring about both ends repeats with period 2 * last, however far out `i` is.
                let m = i.rem_euclid(2 * last);
                (if m > last { 2 * last - m } else { m }) as usize
            }
        }
    }
}

/// Fill `padded` with `row` (of `channels`-pixels) plus `pad` border pixels on each side.
#[inline(always)]
fn pad_row<T: Copy + Into<f32>>(row: &[T], channels: usize, pad: usize, border: Border, padded: &mut [f32]) {
    let n = row.len() / channels;
    for (p, &v) in padded[pad * channels..(pad + n) * channels].iter_mut().zip(row) {
        *p = v.into();
    }
    for p in (0..pad).chain(pad + n..2 * pad + n) {
        let s = border.index(p as isize - pad as isize, n);
        for c in 0..channels {
            padded[p * channels + c] = row[s * channels + c].into();
        }
    }
}

/// Collect rows handed out by a filter into one float buffer.
#[inline(always)]
fn collect_f32(len: usize, stride: usize, run: impl FnOnce(&mut dyn FnMut(usize, &[f32]))) -> Vec<f32> {
    let mut out = vec![0f32; len];
    run(&mut |y, row| out[y * stride..(y + 1) * stride].copy_from_slice(row));
    out
}

/// Collect rows handed out by a filter into an image, rounding each value.
#[inline(always)]
fn collect_image(width: usize, height: usize, run: impl FnOnce(&mut dyn FnMut(usize, &[f32]))) -> RgbImage {
    let stride = width * 3;
    let mut out = vec![0u8; height * stride];
    run(&mut |y, row| {
        for (o, &v) in out[y * stride..(y + 1) * stride].iter_mut().zip(row) {
            *o = round_u8(v);
        }
    });
    RgbImage::from_raw(width as u32, height as u32, out).expect("buffer sized from the image")
}

/// Correlate with `kx` along x, then with `ky` along y (odd lengths, centred on the pixel),
/// handing each output row to `emit` as soon as it is done.
/// `out[j]` = the sum over taps `i`, in order, of `weights[i] * row(i)[j]` (a row at least as long
/// as `out`). Each chunk of 64 sums stays in registers across the taps, instead of a pass over the
/// whole row per tap; the additions happen in the same order, so the sums are the same.
#[inline(always)]
fn weighted_sum<'a>(out: &mut [f32], weights: &[f32], row: impl Fn(usize) -> &'a [f32]) {
    const CHUNK: usize = 64;
    let done = out.len() / CHUNK * CHUNK;
    let mut chunks = out.chunks_exact_mut(CHUNK);
    for (c, chunk) in (&mut chunks).enumerate() {
        let mut acc = [0f32; CHUNK];
        for (i, &k) in weights.iter().enumerate() {
            let src: &[f32; CHUNK] = row(i)[c * CHUNK..][..CHUNK].try_into().expect("a whole chunk");
            for (a, s) in acc.iter_mut().zip(src) {
                *a += k * s;
            }
        }
        chunk.copy_from_slice(&acc);
    }
    let rest = chunks.into_remainder();
    rest.fill(0.0);
    for (i, &k) in weights.iter().enumerate() {
        for (a, s) in rest.iter_mut().zip(&row(i)[done..]) {
            *a += k * s;
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn separable_rows<T: Copy + Into<f32>>(
    data: &[T],
    width: usize,
    height: usize,
    channels: usize,
    kx: &[f32],
    ky: &[f32],
    border: Border,
    emit: &mut dyn FnMut(usize, &[f32]),
) {
    // Rows of floats: compiled for the widest vectors the CPU has.
    super::simd::vectorised(
        #[inline(always)]
        || {
            let stride = width * channels;
            let (rx, ry) = (kx.len() / 2, ky.len() / 2);
            let mut tmp = vec![0f32; data.len()];
            let mut padded = vec![0f32; (width + 2 * rx) * channels];
            for (row, out) in data.chunks_exact(stride).zip(tmp.chunks_exact_mut(stride)) {
                pad_row(row, channels, rx, border, &mut padded);
                weighted_sum(out, kx, |i| &padded[i * channels..]);
            }
            let mut acc = vec![0f32; stride];
            for y in 0..height {
                weighted_sum(&mut acc, ky, |i| {
                    let sy = border.index(y as isize + i as isize - ry as isize, height);
                    &tmp[sy * stride..(sy + 1) * stride]
                });
                emit(y, &acc);
            }
        },
    )
}

/// Correlate with `kx` along x, then with `ky` along y (odd lengths, centred on the pixel).
#[inline(always)]
pub(crate) fn separable<T: Copy + Into<f32>>(
    data: &[T],
    width: usize,
    height: usize,
    channels: usize,
    kx: &[f32],
    ky: &[f32],
    border: Border,
) -> Vec<f32> {
    collect_f32(data.len(), width * channels, |emit| {
        separable_rows(data, width, height, channels, kx, ky, border, emit)
    })
}

/// `separable` of an RGB buffer, rounded to an image.
#[inline(always)]
pub(crate) fn separable_image<T: Copy + Into<f32>>(
    data: &[T],
    width: usize,
    height: usize,
    kx: &[f32],
    ky: &[f32],
    border: Border,
) -> RgbImage {
    collect_image(width, height, |emit| separable_rows(data, width, height, 3, kx, ky, border, emit))
}

/// Gaussian blur as scikit-image's `gaussian` (`mode='nearest'`, truncated at 4 sigma).
pub(crate) fn gaussian<T: Copy + Into<f32>>(
    data: &[T],
    width: usize,
    height: usize,
    channels: usize,
    sigma: f32,
) -> Vec<f32> {
    let k = if sigma > 0.0 { super::gaussian_blur::kernel(sigma) } else { vec![1.0] };
    separable(data, width, height, channels, &k, &k, Border::Nearest)
}

/// One axis of imagecorruptions' `clipped_zoom`: scipy's `zoom(order=1)` of the central
/// `ceil(n / factor)` pixels of a line of `n`, of which the first `n` outputs are kept.
pub(crate) struct ZoomAxis {
    /// First source pixel of the central crop.
    pub offset: usize,
    /// Length of the central crop.
    pub crop: usize,
    /// For each output pixel: the two crop pixels it lies between and the weight of the second.
    pub taps: Vec<(usize, usize, f32)>,
}

impl ZoomAxis {
    pub(crate) fn new(n: usize, factor: f64) -> Self {
        let crop = ((n as f64 / factor).ceil() as usize).clamp(1, n.max(1));
        let offset = (n - crop.min(n)) / 2;
        // scipy's output length (Python's round: half to even) and grid_mode=False spacing:
        // output pixel o reads position o * (crop - 1) / (zoomed - 1).
        let zoomed = Self::zoomed(crop, factor);
        let scale = if zoomed > 1 { (crop - 1) as f64 / (zoomed - 1) as f64 } else { 0.0 };
        let taps = (0..n)
            .map(|o| {
                let pos = (o as f64 * scale).min((crop - 1) as f64);
                let i0 = pos.floor() as usize;
                (i0, (i0 + 1).min(crop - 1), (pos - i0 as f64) as f32)
            })
            .collect();
        ZoomAxis { offset, crop, taps }
    }

    /// Length of scipy's zoom of `crop` pixels by `factor`, `int(round(crop * factor))` (of
    /// which the first `n` are kept).
    pub(crate) fn zoomed(crop: usize, factor: f64) -> usize {
        (crop as f64 * factor).round_ties_even() as usize
    }
}

/// Add imagecorruptions' `clipped_zoom` of `src` (`width` pixels a row) into `acc`: bilinear,
/// horizontal pass over the crop's rows first, then a vertical pass over whole rows.
#[inline(always)]
pub(crate) fn add_clipped_zoom(
    src: &[f32],
    width: usize,
    channels: usize,
    xs: &ZoomAxis,
    ys: &ZoomAxis,
    acc: &mut [f32],
) {
    let stride = width * channels;
    let mut rows = vec![0f32; ys.crop * stride];
    for (cy, row) in rows.chunks_exact_mut(stride).enumerate() {
        let s = &src[(ys.offset + cy) * stride..(ys.offset + cy + 1) * stride];
        for (o, &(x0, x1, f)) in row.chunks_exact_mut(channels).zip(&xs.taps) {
            let (a, b) = ((xs.offset + x0) * channels, (xs.offset + x1) * channels);
            for c in 0..channels {
                o[c] = s[a + c] + f * (s[b + c] - s[a + c]);
            }
        }
    }
    for (out, &(y0, y1, f)) in acc.chunks_exact_mut(stride).zip(&ys.taps) {
        let (a, b) = (&rows[y0 * stride..(y0 + 1) * stride], &rows[y1 * stride..(y1 + 1) * stride]);
        for ((o, &va), &vb) in out.iter_mut().zip(a).zip(b) {
            *o += va + f * (vb - va);
        }
    }
}

/// One shifted copy in a motion streak: out(x, y) += weight * in(x - dx, y - dy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tap {
    pub dx: isize,
    pub dy: isize,
    pub weight: f32,
}

/// The streak of imagecorruptions' `_motion_blur`: `2 * radius + 1` unit steps along `angle`
/// (degrees, 0 = towards +x, positive towards +y) with one-sided Gaussian weights. Steps that
/// would leave a `width`x`height` image are dropped, as there, and the rest renormalised.
pub(crate) fn motion_taps(radius: usize, sigma: f64, angle: f64, width: usize, height: usize) -> Vec<Tap> {
    let n = 2 * radius + 1;
    let rad = angle.to_radians();
    let point = (n as f64 * rad.sin(), n as f64 * rad.cos());
    let hypot = point.0.hypot(point.1);
    let mut taps = Vec::with_capacity(n);
    for i in 0..n {
        // Same rounding as the original: the i-th step lands on the nearest pixel, ties away.
        let dy = -((i as f64 * point.0 / hypot) - 0.5).ceil() as isize;
        let dx = -((i as f64 * point.1 / hypot) - 0.5).ceil() as isize;
        if dy.unsigned_abs() >= height || dx.unsigned_abs() >= width {
            break;
        }
        let weight = (-(i as f64).powi(2) / (2.0 * sigma * sigma)).exp();
        taps.push(Tap { dx, dy, weight: weight as f32 });
    }
    let total: f32 = taps.iter().map(|t| t.weight).sum();
    taps.iter_mut().for_each(|t| t.weight /= total);
    taps
}

/// Apply a motion streak, handing each output row to `emit`; reads beyond the edge repeat the
/// edge pixel, as the original's `shift`.
fn motion_blur_rows<T: Copy + Into<f32>>(
    data: &[T],
    width: usize,
    height: usize,
    channels: usize,
    taps: &[Tap],
    emit: &mut dyn FnMut(usize, &[f32]),
) {
    // Rows of floats: compiled for the widest vectors the CPU has.
    super::simd::vectorised(
        #[inline(always)]
        || {
            let stride = width * channels;
            let pad = taps.iter().map(|t| t.dx.unsigned_abs()).max().unwrap_or(0);
            let pstride = (width + 2 * pad) * channels;
            // Pad every row once, so that each tap reads a contiguous run of a source row.
            let mut padded = vec![0f32; height * pstride];
            for (row, p) in data.chunks_exact(stride).zip(padded.chunks_exact_mut(pstride)) {
                pad_row(row, channels, pad, Border::Nearest, p);
            }
            let mut acc = vec![0f32; stride];
            let weights: Vec<f32> = taps.iter().map(|t| t.weight).collect();
            for y in 0..height {
                weighted_sum(&mut acc, &weights, |i| {
                    let t = &taps[i];
                    let sy = Border::Nearest.index(y as isize - t.dy, height);
                    let start = sy * pstride + (pad as isize - t.dx) as usize * channels;
                    &padded[start..start + stride]
                });
                emit(y, &acc);
            }
        },
    )
}

/// Apply a motion streak to a float buffer.
pub(crate) fn motion_blur(data: &[f32], width: usize, height: usize, channels: usize, taps: &[Tap]) -> Vec<f32> {
    collect_f32(data.len(), width * channels, |emit| motion_blur_rows(data, width, height, channels, taps, emit))
}

/// Apply a motion streak to an image.
pub(crate) fn motion_blur_image(image: &RgbImage, taps: &[Tap]) -> RgbImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    collect_image(w, h, |emit| motion_blur_rows(image.as_raw(), w, h, 3, taps, emit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borders_index_like_opencv_and_scipy() {
        let r: Vec<usize> = (-4..8).map(|i| Border::Reflect101.index(i, 4)).collect();
        assert_eq!(r, [2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1]);
        let n: Vec<usize> = (-2..6).map(|i| Border::Nearest.index(i, 4)).collect();
        assert_eq!(n, [0, 0, 0, 1, 2, 3, 3, 3]);
        assert_eq!(Border::Reflect101.index(-5, 1), 0);
    }

    #[test]
    fn round_u8_agrees_with_to_u8() {
        for v in [-3.0, -0.5, 0.0, 0.49, 0.5, 1.5, 2.5, 127.4999, 254.5, 255.0, 300.0, f32::NAN] {
            assert_eq!(round_u8(v), super::super::to_u8(v), "{v}");
        }
        // And the saturating cast it replaces, on every value class.
        let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, -0.51, 255.49, 255.5, 1e30, -1e30];
        for v in specials.into_iter().chain((-2000..300_000).map(|i| i as f32 / 1000.0)) {
            assert_eq!(round_u8(v), (v + 0.5) as u8, "{v}");
        }
    }

    #[test]
    fn separable_box_keeps_a_flat_image_and_averages_a_step() {
        let data = [0.0f32, 0.0, 3.0, 3.0];
        let k = [1.0 / 3.0; 3];
        let out = separable(&data, 4, 1, 1, &k, &[1.0], Border::Reflect101);
        let expected = [0.0, 1.0, 2.0, 3.0];
        assert!(out.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6), "{out:?}");
    }

    #[test]
    fn zoom_axis_matches_scipy() {
        // clipped_zoom of 10 pixels by 2: crop of 5 from 2, zoomed to 10 at spacing 4/9.
        let z = ZoomAxis::new(10, 2.0);
        assert_eq!((z.offset, z.crop), (2, 5));
        assert_eq!(z.taps[0], (0, 1, 0.0));
        let (i0, i1, f) = z.taps[5];
        assert_eq!((i0, i1), (2, 3));
        assert!((f - (20.0 / 9.0 - 2.0) as f32).abs() < 1e-6);
        assert_eq!(z.taps[9], (4, 4, 0.0));
    }

    #[test]
    fn motion_taps_follow_the_angle() {
        let taps = motion_taps(2, 100.0, 0.0, 10, 10);
        let shifts: Vec<(isize, isize)> = taps.iter().map(|t| (t.dx, t.dy)).collect();
        assert_eq!(shifts, [(0, 0), (-1, 0), (-2, 0), (-3, 0), (-4, 0)]);
        let down: Vec<isize> = motion_taps(2, 1.0, 90.0, 10, 10).iter().map(|t| t.dy).collect();
        assert_eq!(down, [0, -1, -2, -3, -4]);
        // A 3-pixel-wide image keeps the steps that fit, renormalised.
        let cut = motion_taps(2, 1.0, 0.0, 3, 3);
        assert_eq!(cut.len(), 3);
        assert!((cut.iter().map(|t| t.weight).sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn motion_blur_of_a_flat_image_is_flat() {
        let data = vec![7.0; 5 * 4 * 3];
        let taps = motion_taps(3, 2.0, 30.0, 5, 4);
        assert!(motion_blur(&data, 5, 4, 3, &taps).iter().all(|v| (v - 7.0).abs() < 1e-4));
    }
}

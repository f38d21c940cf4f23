//! Geometry shared by the perturbations that move image content: a projective map, image
//! resampling through it, and the rule that moves labelled boxes along.
//!
//! Coordinates are continuous pixels: the image spans `[0, w] × [0, h]` and pixel `(i, j)` has its
//! centre at `(i + 0.5, j + 0.5)`, so a flip maps `x` to `w - x` exactly and boxes in COCO pixels
//! move with the same matrix as the image.

use image::RgbImage;

use super::{Moved, Perturbation};
use crate::perturb::CaseRng;

/// A projective map of the plane, `[x', y', w'] = M · [x, y, 1]`, row-major.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography(pub [f64; 9]);

/// Share of a moved box that must stay inside the image for the box to be kept (then clipped).
/// Below it, too little of the object is left to expect a detection.
pub const MIN_VISIBLE: f64 = 0.5;

impl Homography {
    pub const IDENTITY: Homography = Homography([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);

    /// Scale by `(sx, sy)` about the origin, then translate by `(tx, ty)`.
    pub fn scale_translate(sx: f64, sy: f64, tx: f64, ty: f64) -> Self {
        Homography([sx, 0.0, tx, 0.0, sy, ty, 0.0, 0.0, 1.0])
    }

    /// Rotation by `degrees` (counter-clockwise on screen) about `(cx, cy)`.
    pub fn rotation(degrees: f64, cx: f64, cy: f64) -> Self {
        let (s, c) = degrees.to_radians().sin_cos();
        // Image y points down, so a visually counter-clockwise turn has `-s` in the first row.
        Homography([c, s, cx - c * cx - s * cy, -s, c, cy + s * cx - c * cy, 0.0, 0.0, 1.0])
    }

    /// The map sending each of `from` to the matching point of `to` (four points, no three collinear).
    pub fn from_points(from: [[f64; 2]; 4], to: [[f64; 2]; 4]) -> Option<Self> {
        // Eight equations in the eight unknowns (m[8] = 1), solved by Gaussian elimination.
        let mut a = [[0.0f64; 9]; 8];
        for k in 0..4 {
            let ([x, y], [u, v]) = (from[k], to[k]);
            a[2 * k] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            a[2 * k + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        for col in 0..8 {
            let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
            if a[pivot][col].abs() < 1e-12 {
                return None;
            }
            a.swap(col, pivot);
            let pivot_row = a[col];
            for (r, row) in a.iter_mut().enumerate() {
                if r != col {
                    let f = row[col] / pivot_row[col];
                    for (x, p) in row.iter_mut().zip(pivot_row).skip(col) {
                        *x -= f * p;
                    }
                }
            }
        }
        let m: Vec<f64> = (0..8).map(|i| a[i][8] / a[i][i]).collect();
        Some(Homography([m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], 1.0]))
    }

    /// `self` after `first`.
    pub fn after(&self, first: &Homography) -> Homography {
        let (a, b) = (&self.0, &first.0);
        let mut m = [0.0; 9];
        for r in 0..3 {
            for c in 0..3 {
                m[3 * r + c] = (0..3).map(|k| a[3 * r + k] * b[3 * k + c]).sum();
            }
        }
        Homography(m)
    }

    pub fn inverse(&self) -> Option<Homography> {
        let m = &self.0;
        let cof = [
            m[4] * m[8] - m[5] * m[7],
            m[2] * m[7] - m[1] * m[8],
            m[1] * m[5] - m[2] * m[4],
            m[5] * m[6] - m[3] * m[8],
            m[0] * m[8] - m[2] * m[6],
            m[2] * m[3] - m[0] * m[5],
            m[3] * m[7] - m[4] * m[6],
            m[1] * m[6] - m[0] * m[7],
            m[0] * m[4] - m[1] * m[3],
        ];
        let det = m[0] * cof[0] + m[1] * cof[3] + m[2] * cof[6];
        (det.abs() > 1e-12).then(|| Homography(cof.map(|c| c / det)))
    }

    pub fn map(&self, x: f64, y: f64) -> (f64, f64) {
        let m = &self.0;
        let w = m[6] * x + m[7] * y + m[8];
        ((m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w)
    }

    /// Where box `[x1, y1, x2, y2]` lands in a `width × height` image: the box around its moved
    /// corners, clipped to the image; `None` when less than [`MIN_VISIBLE`] of it stays inside.
    pub fn move_box(&self, bbox: [f64; 4], width: u32, height: u32) -> Option<[f64; 4]> {
        let [x1, y1, x2, y2] = bbox;
        let corners = [(x1, y1), (x2, y1), (x1, y2), (x2, y2)].map(|(x, y)| self.map(x, y));
        if corners.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
            return None;
        }
        let lo = |f: fn(&(f64, f64)) -> f64| corners.iter().map(f).fold(f64::INFINITY, f64::min);
        let hi = |f: fn(&(f64, f64)) -> f64| corners.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
        let moved = [lo(|c| c.0), lo(|c| c.1), hi(|c| c.0), hi(|c| c.1)];
        let (w, h) = (f64::from(width), f64::from(height));
        let clipped = [moved[0].clamp(0.0, w), moved[1].clamp(0.0, h), moved[2].clamp(0.0, w), moved[3].clamp(0.0, h)];
        let area = |b: &[f64; 4]| (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0);
        let full = area(&moved);
        // A degenerate (zero-area) label stays when its position is still inside the image.
        let visible = if full > 0.0 {
            area(&clipped) / full
        } else if moved == clipped {
            1.0
        } else {
            0.0
        };
        (visible >= MIN_VISIBLE).then_some(clipped)
    }
}

/// A perturbation that moves content by one projective map per image: it picks the map, the
/// shared code renders the image and reports the motion so labels follow.
pub trait Geometric: Send + Sync {
    /// The map for an image of this size; any randomness comes from `rng`.
    fn motion(&self, width: u32, height: u32, rng: &mut CaseRng) -> Homography;

    /// Render through `motion`; exact maps (flips) override this with a direct copy.
    fn render(&self, image: &RgbImage, motion: &Homography) -> RgbImage {
        warp(image, motion)
    }
}

/// Adapts a [`Geometric`] to the catalog's [`Perturbation`].
pub struct Warped<G>(pub G);

impl<G: Geometric> Perturbation for Warped<G> {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        self.apply_moving(image, rng).image
    }

    fn apply_moving(&self, image: &RgbImage, rng: &mut CaseRng) -> Moved {
        let motion = self.0.motion(image.width(), image.height(), rng);
        Moved { image: self.0.render(image, &motion), motion: Some(motion) }
    }
}

/// `image` seen through `motion`, in an image of the same size: each output pixel samples the
/// input bilinearly where the inverse map sends its centre; outside the input it is black.
pub fn warp(image: &RgbImage, motion: &Homography) -> RgbImage {
    let (w, h) = image.dimensions();
    let Some(inv) = motion.inverse() else {
        return RgbImage::new(w, h);
    };
    let m = inv.0;
    if m[6] == 0.0 && m[7] == 0.0 && m[8] == 1.0 && m[1] == 0.0 && m[3] == 0.0 {
        warp_axis_aligned(image, [m[0], m[1], m[2], m[3], m[4], m[5]])
    } else if m[6] == 0.0 && m[7] == 0.0 && m[8] == 1.0 {
        warp_affine(image, [m[0], m[1], m[2], m[3], m[4], m[5]])
    } else {
        // One division a pixel, not two.
        warp_rows(image, |u, v| {
            let r = 1.0 / (m[6] * u + m[7] * v + m[8]);
            ((m[0] * u + m[1] * v + m[2]) * r, (m[3] * u + m[4] * v + m[5]) * r)
        })
    }
}

/// Bits of sub-pixel position kept for the bilinear weights: 1/2048 pixel moves a value by at
/// most 255/4096 of a level, and weights of 22 bits times 255 still fit in a `u32`.
const FRAC: u32 = 11;
const ONE: i64 = 1 << FRAC;

/// Affine inverse map `[a, b, c, d, e, f]` (source = `(a u + b v + c, d u + e v + f)`): every
/// catalog map but perspective. Along a row the source moves by a constant step, so positions
/// are stepped in 32.32 fixed point (640 steps drift by under 1e-7 pixel), with no division and
/// no float-to-integer conversion per pixel.
fn warp_affine(image: &RgbImage, m: [f64; 6]) -> RgbImage {
    let (w, h) = image.dimensions();
    let mut out = vec![0u8; 3 * w as usize * h as usize];
    if w == 0 || h == 0 {
        return RgbImage::new(w, h);
    }
    let fixed = |v: f64| (v * 4_294_967_296.0).round() as i64;
    let (step_x, step_y) = (fixed(m[0]), fixed(m[3]));
    let sampler = Sampler::new(image);
    let (mut qx, mut qy) = (vec![0i32; w as usize], vec![0i32; w as usize]);
    for (j, row) in out.chunks_exact_mut(3 * w as usize).enumerate() {
        let v = j as f64 + 0.5;
        // Source of the first pixel centre, less 0.5 for pixel-index space.
        let mut x = fixed(m[0] * 0.5 + m[1] * v + m[2] - 0.5);
        let mut y = fixed(m[3] * 0.5 + m[4] * v + m[5] - 0.5);
        for (px, py) in qx.iter_mut().zip(&mut qy) {
            // Rounded to the nearest 1/2048 (the shift floors, negatives included).
            let half = 1i64 << (31 - FRAC);
            (*px, *py) = sampler.clamp((x + half) >> (32 - FRAC), (y + half) >> (32 - FRAC));
            x += step_x;
            y += step_y;
        }
        sampler.sample_row(&qx, &qy, row);
    }
    RgbImage::from_raw(w, h, out).expect("buffer sized from the image")
}

/// `warp_affine` for maps without rotation or shear (crops, zooms, shifts): every row samples
/// the same source columns and every column the same source rows, so the bilinear blend splits
/// into a pass along each source row (once per row, shared by the output rows that read it) and
/// a blend of two such rows per output row, a loop the compiler vectorises. The integer sums are
/// those of [`Sampler::sample`] regrouped, `(1 - fy)(a (1 - fx) + b fx) + fy (c (1 - fx) + d fx)`,
/// so every byte is the same.
fn warp_axis_aligned(image: &RgbImage, m: [f64; 6]) -> RgbImage {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return RgbImage::new(w, h);
    }
    let (wi, hi) = (i64::from(w), i64::from(h));
    let (wu, stride) = (w as usize, 3 * w as usize);
    let fixed = |v: f64| (v * 4_294_967_296.0).round() as i64;
    let half = 1i64 << (31 - FRAC);
    // The columns' positions, stepped exactly as `warp_affine` steps them along a row.
    let v0 = 0.5;
    let mut x = fixed(m[0] * 0.5 + m[1] * v0 + m[2] - 0.5);
    let step_x = fixed(m[0]);
    let one = ONE as u32;
    // Per output column: where its left neighbour starts in a source row padded with one black
    // pixel each side, its weight out of 2048, whether it is drawn at all (columns not drawn
    // read anywhere in the row and are blanked).
    let columns: Vec<(usize, u32, bool)> = (0..wu)
        .map(|_| {
            let qx = (x + half) >> (32 - FRAC);
            x += step_x;
            let left = ((qx >> FRAC) + 1).clamp(0, wi) as usize;
            (3 * left, (qx & (ONE - 1)) as u32, qx > -ONE && qx < wi * ONE)
        })
        .collect();
    // With a step of exactly one pixel, the drawn columns (a run: positions only increase) read
    // consecutive source pixels at one weight: the first and last of them.
    let drawn_run = || Some((columns.iter().position(|c| c.2)?, columns.iter().rposition(|c| c.2)?));
    let shift = if step_x == 1 << 32 { drawn_run() } else { None };
    // One source row blended along x (weights out of 2048; neighbours outside count as black).
    let src = image.as_raw();
    // Two black pixels' room each side, and one byte more for the vector loop's 4-byte reads.
    let mut padded = vec![0u8; stride + 7];
    let at: Vec<u32> = columns.iter().map(|c| c.0 as u32).collect();
    let fx: Vec<u32> = columns.iter().map(|c| c.1).collect();
    let mut blend_row = |y: i64, out: &mut [u32]| {
        if y < 0 || y >= hi {
            out.fill(0);
            return;
        }
        padded[3..3 + stride].copy_from_slice(&src[y as usize * stride..][..stride]);
        if let Some((first, last)) = shift {
            // A pure shift along x: the drawn columns read consecutive pixels at one weight, a
            // blend of two runs of the row (vectorised). Columns not drawn are blanked anyway.
            let (at, fx) = (columns[first].0, columns[first].1);
            let n = 3 * (last + 1 - first);
            let (a, b) = (&padded[at..at + n], &padded[at + 3..at + 3 + n]);
            for ((o, &a), &b) in out[3 * first..3 * (last + 1)].iter_mut().zip(a).zip(b) {
                *o = u32::from(a) * (one - fx) + u32::from(b) * fx;
            }
            return;
        }
        super::simd::lerp_pixels(&padded, &at, &fx, out);
    };
    let drawn: Vec<u32> = columns.iter().flat_map(|&(_, _, d)| [u32::from(d); 3]).collect();
    let (mut top, mut bottom) = (vec![0u32; stride], vec![0u32; stride]);
    let mut cached: Option<i64> = None;
    let mut out = vec![0u8; stride * h as usize];
    for (j, out_row) in out.chunks_exact_mut(stride).enumerate() {
        let v = j as f64 + 0.5;
        let y = fixed(m[3] * 0.5 + m[4] * v + m[5] - 0.5);
        let qy = (y + half) >> (32 - FRAC);
        if qy <= -ONE || qy >= hi * ONE {
            continue;
        }
        let (y0, fy) = (qy >> FRAC, (qy & (ONE - 1)) as u32);
        // Consecutive output rows mostly read the same two source rows, or move on by one.
        match cached {
            Some(c) if c == y0 => {}
            Some(c) if c + 1 == y0 => {
                std::mem::swap(&mut top, &mut bottom);
                blend_row(y0 + 1, &mut bottom);
            }
            _ => {
                blend_row(y0, &mut top);
                blend_row(y0 + 1, &mut bottom);
            }
        }
        cached = Some(y0);
        let (wt, wb) = (one - fy, fy);
        super::simd::vectorised(
            #[inline(always)]
            || {
                for (((o, &t), &b), &d) in out_row.iter_mut().zip(&top).zip(&bottom).zip(&drawn) {
                    *o = (((t * wt + b * wb + (1 << (2 * FRAC - 1))) >> (2 * FRAC)) * d) as u8;
                }
            },
        );
    }
    RgbImage::from_raw(w, h, out).expect("buffer sized from the image")
}

/// The warp for any inverse map `source(u, v)` from output to input continuous coordinates.
fn warp_rows(image: &RgbImage, source: impl Fn(f64, f64) -> (f64, f64)) -> RgbImage {
    let (w, h) = image.dimensions();
    let mut out = vec![0u8; 3 * w as usize * h as usize];
    if w == 0 || h == 0 {
        return RgbImage::new(w, h);
    }
    let (wf, hf) = (f64::from(w), f64::from(h));
    let scale = ONE as f64;
    let sampler = Sampler::new(image);
    let (mut qx, mut qy) = (vec![0i32; w as usize], vec![0i32; w as usize]);
    for (j, row) in out.chunks_exact_mut(3 * w as usize).enumerate() {
        let v = j as f64 + 0.5;
        for (i, (px, py)) in qx.iter_mut().zip(&mut qy).enumerate() {
            let (x, y) = source(i as f64 + 0.5, v);
            // Back to pixel-index space, where integer coordinates are pixel centres.
            let (x, y) = (x - 0.5, y - 0.5);
            if !(x > -1.0 && y > -1.0 && x < wf && y < hf) {
                // Outside: black, as any position a pixel or more out.
                (*px, *py) = (-(ONE as i32), -(ONE as i32));
                continue;
            }
            // Shifted positive before truncating, so that `as` floors (no libm `round`/`floor`
            // call on baseline x86-64); +0.5 rounds to the nearest 1/2048.
            let qx = ((x + 1.0) * scale + 0.5) as i64 - ONE;
            let qy = ((y + 1.0) * scale + 0.5) as i64 - ONE;
            (*px, *py) = sampler.clamp(qx, qy);
        }
        sampler.sample_row(&qx, &qy, row);
    }
    RgbImage::from_raw(w, h, out).expect("buffer sized from the image")
}

/// Integer bilinear sampling of an image at positions in 1/2048 pixel (pixel-index space).
struct Sampler<'a> {
    src: &'a [u8],
    w: i64,
    h: i64,
}

impl<'a> Sampler<'a> {
    fn new(image: &'a RgbImage) -> Self {
        Sampler { src: image.as_raw(), w: i64::from(image.width()), h: i64::from(image.height()) }
    }

    /// A position clamped to `-2048 ..= 2048 · w` (and h), as 32-bit: outside stays outside,
    /// which is all that matters of a position out there.
    fn clamp(&self, qx: i64, qy: i64) -> (i32, i32) {
        (qx.clamp(-ONE, self.w * ONE) as i32, qy.clamp(-ONE, self.h * ONE) as i32)
    }

    /// One output row from its positions (vectorised where the CPU allows, the same bytes).
    fn sample_row(&self, qx: &[i32], qy: &[i32], row: &mut [u8]) {
        let size = (self.w as usize, self.h as usize);
        super::simd::sample_row(self.src, size, (qx, qy), row, |x, y, px| self.sample(px, x.into(), y.into()));
    }

    /// Write the sample at `(qx, qy)` / 2048 into `px`; left as it is (black) when the position
    /// is a pixel or more outside the image. Neighbours outside count as black.
    #[inline(always)]
    fn sample(&self, px: &mut [u8; 3], qx: i64, qy: i64) {
        if qx <= -ONE || qy <= -ONE || qx >= self.w * ONE || qy >= self.h * ONE {
            return;
        }
        let (x0, y0) = (qx >> FRAC, qy >> FRAC);
        let (fx, fy) = ((qx & (ONE - 1)) as u32, (qy & (ONE - 1)) as u32);
        let one = ONE as u32;
        // One set of weights a pixel, summing to 2^22; at most 255 · 2^22 in all, within `u32`.
        let wt = [(one - fx) * (one - fy), fx * (one - fy), (one - fx) * fy, fx * fy];
        let blend = |p: [u32; 4]| {
            ((p[0] * wt[0] + p[1] * wt[1] + p[2] * wt[2] + p[3] * wt[3] + (1 << (2 * FRAC - 1))) >> (2 * FRAC)) as u8
        };
        let stride = 3 * self.w as usize;
        if x0 >= 0 && y0 >= 0 && x0 + 1 < self.w && y0 + 1 < self.h {
            // All four neighbours inside: two 6-byte runs of the source, no checks per value.
            let i = 3 * (y0 as usize * self.w as usize + x0 as usize);
            let top: &[u8; 6] = self.src[i..i + 6].try_into().expect("6 bytes");
            let bottom: &[u8; 6] = self.src[i + stride..i + stride + 6].try_into().expect("6 bytes");
            for k in 0..3 {
                px[k] = blend([top[k], top[k + 3], bottom[k], bottom[k + 3]].map(u32::from));
            }
        } else {
            let fetch = |x: i64, y: i64| -> [u32; 3] {
                if x < 0 || y < 0 || x >= self.w || y >= self.h {
                    return [0; 3];
                }
                let i = 3 * (y as usize * self.w as usize + x as usize);
                [self.src[i], self.src[i + 1], self.src[i + 2]].map(u32::from)
            };
            let (a, b, c, d) = (fetch(x0, y0), fetch(x0 + 1, y0), fetch(x0, y0 + 1), fetch(x0 + 1, y0 + 1));
            for k in 0..3 {
                px[k] = blend([a[k], b[k], c[k], d[k]]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9
    }

    #[test]
    fn axis_aligned_maps_sample_like_the_general_affine_warp() {
        use rand::Rng;
        let mut rng = crate::perturb::case_rng(5, "warp", 0);
        let img = RgbImage::from_fn(53, 37, |_, _| image::Rgb(rng.random()));
        // Crops, zooms both ways, shifts off every edge, flips, a one-pixel-wide sliver.
        let maps = [
            [0.85, 0.0, 3.3, 0.0, 0.85, 2.1],
            [1.25, 0.0, -6.0, 0.0, 1.25, -4.6],
            [1.0, 0.0, 10.4, 0.0, 1.0, -7.9],
            [1.0, 0.0, -0.3, 0.0, 1.0, 0.6],
            [1.0, 0.0, 52.5, 0.0, 1.0, 0.0],
            [1.0, 0.0, -60.0, 0.0, 1.0, 0.0],
            [-1.0, 0.0, 53.0, 0.0, 1.0, 0.0],
            [0.5, 0.0, 0.0, 0.0, -1.0, 37.0],
            [0.01, 0.0, 26.0, 0.0, 0.3, 1.0],
        ];
        for m in maps {
            assert_eq!(warp_axis_aligned(&img, m), warp_affine(&img, m), "{m:?}");
        }
    }

    #[test]
    fn vector_rows_sample_like_the_scalar_sampler() {
        use rand::Rng;
        let mut rng = crate::perturb::case_rng(6, "warp", 0);
        for (w, h) in [(40u32, 30u32), (17, 5), (1, 1)] {
            let img = RgbImage::from_fn(w, h, |_, _| image::Rgb(rng.random()));
            let sampler = Sampler::new(&img);
            let one = ONE as i32;
            // Positions all over: inside, on the edges, past them by less and more than a pixel,
            // and on the last pixel (where a 4-byte read would pass the end).
            let n = 100;
            let mut qx: Vec<i32> = (0..n).map(|_| rng.random_range(-2 * one..(w as i32 + 2) * one)).collect();
            let mut qy: Vec<i32> = (0..n).map(|_| rng.random_range(-2 * one..(h as i32 + 2) * one)).collect();
            (qx[5], qy[5]) = ((w as i32 - 1) * one, (h as i32 - 1) * one);
            (qx[40], qy[40]) = ((w as i32 - 1) * one + 7, (h as i32 - 1) * one + 3);
            let clamped: Vec<(i32, i32)> =
                qx.iter().zip(&qy).map(|(&x, &y)| sampler.clamp(x.into(), y.into())).collect();
            let (qx, qy): (Vec<i32>, Vec<i32>) = clamped.into_iter().unzip();
            let mut want = vec![0u8; 3 * n];
            for ((px, &x), &y) in want.chunks_exact_mut(3).zip(&qx).zip(&qy) {
                sampler.sample(px.try_into().unwrap(), x.into(), y.into());
            }
            for level in crate::perturb::simd::Level::available() {
                let mut row = vec![0u8; 3 * n];
                let size = (w as usize, h as usize);
                crate::perturb::simd::sample_row_at(level, img.as_raw(), size, (&qx, &qy), &mut row, |x, y, px| {
                    sampler.sample(px, x.into(), y.into())
                });
                assert_eq!(row, want, "{level:?} at {w}x{h}");
            }
        }
    }

    #[test]
    fn four_points_define_the_map() {
        let from = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        let to = [[1.0, 2.0], [9.0, 0.0], [12.0, 11.0], [0.0, 9.0]];
        let m = Homography::from_points(from, to).unwrap();
        for (f, t) in from.iter().zip(&to) {
            assert!(close(m.map(f[0], f[1]), (t[0], t[1])), "{:?}", m.map(f[0], f[1]));
        }
        let back = m.inverse().unwrap();
        assert!(close(back.map(1.0, 2.0), (0.0, 0.0)));
        assert!(close(back.after(&m).map(3.0, 4.0), (3.0, 4.0)));
        assert!(Homography::from_points(from, [[0.0, 0.0]; 4]).is_none());
    }

    #[test]
    fn rotation_turns_about_the_centre() {
        let r = Homography::rotation(90.0, 5.0, 5.0);
        assert!(close(r.map(5.0, 5.0), (5.0, 5.0)));
        // On screen (y down), a counter-clockwise quarter turn takes the right-hand point to the top.
        assert!(close(r.map(10.0, 5.0), (5.0, 0.0)));
    }

    #[test]
    fn boxes_are_clipped_or_dropped_by_visibility() {
        let shift = Homography::scale_translate(1.0, 1.0, 6.0, 0.0);
        assert_eq!(shift.move_box([0.0, 0.0, 8.0, 4.0], 10, 10), Some([6.0, 0.0, 10.0, 4.0]));
        assert_eq!(shift.move_box([0.0, 0.0, 10.0, 4.0], 10, 10), None, "40 % visible");
        assert_eq!(Homography::IDENTITY.move_box([2.0, 2.0, 2.0, 2.0], 10, 10), Some([2.0, 2.0, 2.0, 2.0]));
    }

    #[test]
    fn identity_warp_is_lossless_and_a_shift_moves_pixels() {
        let img = RgbImage::from_fn(7, 5, |x, y| image::Rgb([(x * 30) as u8, (y * 40) as u8, 9]));
        assert_eq!(warp(&img, &Homography::IDENTITY), img);
        let moved = warp(&img, &Homography::scale_translate(1.0, 1.0, 2.0, 1.0));
        assert_eq!(moved.get_pixel(4, 3), img.get_pixel(2, 2));
        assert_eq!(moved.get_pixel(0, 0).0, [0, 0, 0]);
    }

    /// The warp as first written: float bilinear sampling through the full projective formula.
    fn reference_warp(image: &RgbImage, motion: &Homography) -> RgbImage {
        let (w, h) = image.dimensions();
        let mut out = RgbImage::new(w, h);
        let inv = motion.inverse().unwrap();
        let (wi, hi) = (w as i64, h as i64);
        let fetch = |x: i64, y: i64| -> [f32; 3] {
            if x < 0 || y < 0 || x >= wi || y >= hi {
                return [0.0; 3];
            }
            image.get_pixel(x as u32, y as u32).0.map(f32::from)
        };
        for (i, j, px) in out.enumerate_pixels_mut() {
            let (x, y) = inv.map(i as f64 + 0.5, j as f64 + 0.5);
            let (x, y) = (x - 0.5, y - 0.5);
            if !(x > -1.0 && y > -1.0 && x < w as f64 && y < h as f64) {
                continue;
            }
            let (x0, y0) = (x.floor(), y.floor());
            let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let (a, b, c, d) = (fetch(x0, y0), fetch(x0 + 1, y0), fetch(x0, y0 + 1), fetch(x0 + 1, y0 + 1));
            for k in 0..3 {
                let top = a[k] + (b[k] - a[k]) * fx;
                let bottom = c[k] + (d[k] - c[k]) * fx;
                px[k] = crate::perturb::to_u8(top + (bottom - top) * fy);
            }
        }
        out
    }

    fn max_diff(a: &RgbImage, b: &RgbImage) -> u8 {
        a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y)).max().unwrap()
    }

    #[test]
    fn affine_and_projective_paths_agree_with_the_float_warp() {
        // Noise: the steepest gradients, where a sub-pixel difference shows most.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let img = RgbImage::from_fn(61, 43, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
        });
        let rotate = Homography::rotation(13.0, 30.0, 21.0).after(&Homography::scale_translate(0.9, 1.1, 2.3, -1.7));
        let inv = rotate.inverse().unwrap().0;
        let affine = warp(&img, &rotate);
        // The same map through the division-per-pixel path.
        let projective = warp_rows(&img, |u, v| Homography(inv).map(u, v));
        assert!(max_diff(&affine, &projective) <= 1);
        assert!(max_diff(&affine, &reference_warp(&img, &rotate)) <= 1);
        let tilt = Homography::from_points(
            [[0.0, 0.0], [61.0, 0.0], [61.0, 43.0], [0.0, 43.0]],
            [[3.0, 2.0], [57.0, 4.0], [59.0, 40.0], [1.0, 41.0]],
        )
        .unwrap();
        assert!(max_diff(&warp(&img, &tilt), &reference_warp(&img, &tilt)) <= 1);
    }
}

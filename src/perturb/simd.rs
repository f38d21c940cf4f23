//! Vectorised pixel loops: byte tables and planar per-pixel kernels, built for AVX-512 / AVX2 and chosen at run time.
//!
//! Interleaved RGB defeats the compiler's vectoriser (a stride-3 loop with a branch or a table
//! lookup per value), and the baseline x86-64 target has only SSE2. So the colour perturbations
//! write their per-pixel maths as a [`PixelKernel`] over planar blocks of [`LANES`] pixels, and
//! this module compiles the loop around it once per instruction set and runs the widest the CPU
//! has. Every variant computes exactly the scalar result: the kernels use integer maths or plain
//! IEEE float operations, which Rust never fuses or reorders, so outputs are byte-identical
//! whichever variant runs (tested against the portable one).

use image::RgbImage;

/// Pixels in a block: 32 fills AVX-512 registers as 16-bit or 32-bit lanes without spilling.
pub(crate) const LANES: usize = 32;

/// One block of pixels, one array per channel (R, G, B).
pub(crate) type Planes = [[u8; LANES]; 3];

/// A per-pixel colour map, written for one pixel and run over blocks of [`LANES`] planar pixels,
/// so that it vectorises. It must be a pure function of the pixel (padding lanes of the last
/// block are computed and dropped) and be marked `#[inline(always)]`, so that it is compiled
/// inside each instruction set's loop.
pub(crate) trait PixelKernel: Sync {
    fn pixel(&self, rgb: [u8; 3]) -> [u8; 3];
}

/// The kernel over one planar block.
#[inline(always)]
fn run_block<K: PixelKernel>(kernel: &K, planes: &mut Planes) {
    let [r, g, b] = planes;
    for ((r, g), b) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()) {
        [*r, *g, *b] = kernel.pixel([*r, *g, *b]);
    }
}

/// The instruction sets a loop is compiled for, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// AVX-512 with byte permutes (VBMI): Ice Lake and later, Zen 4 and later.
    Avx512,
    Avx2,
    Portable,
}

impl Level {
    /// The best level this CPU runs (detected once).
    pub(crate) fn detect() -> Level {
        static LEVEL: std::sync::OnceLock<Level> = std::sync::OnceLock::new();
        *LEVEL.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::is_x86_feature_detected as has;
                let avx2 = has!("avx2") && has!("fma") && has!("bmi2");
                if avx2 && has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512vbmi") {
                    return Level::Avx512;
                }
                if avx2 {
                    return Level::Avx2;
                }
            }
            Level::Portable
        })
    }

    /// Every level this CPU runs, best first (for tests that compare them).
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Level> {
        let best = Level::detect();
        [Level::Avx512, Level::Avx2, Level::Portable].into_iter().skip_while(|l| *l != best).collect()
    }
}

/// Runs `f` compiled for the CPU's widest vectors, for loops the compiler vectorises on its own
/// (rows of floats). Pass an `#[inline(always)]` closure, and mark what it calls in the hot loop
/// `#[inline(always)]` too: only code inlined into the variants is compiled for their features.
pub(crate) fn vectorised<R>(f: impl FnOnce() -> R) -> R {
    match Level::detect() {
        // SAFETY: `detect` found the features these variants are compiled for.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { x86::run_avx512(f) },
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { x86::run_avx2(f) },
        _ => f(),
    }
}

/// The image with `kernel` applied to every pixel.
pub(crate) fn map_pixels<K: PixelKernel>(image: &RgbImage, kernel: &K) -> RgbImage {
    map_pixels_at(Level::detect(), image, kernel)
}

pub(crate) fn map_pixels_at<K: PixelKernel>(level: Level, image: &RgbImage, kernel: &K) -> RgbImage {
    // Appended to, never zero-filled first: a memset of the whole image costs a tenth of the
    // cheaper maps.
    let mut out = Vec::with_capacity(image.as_raw().len());
    let src = image.as_raw();
    match level {
        // SAFETY: `detect` (or `available`) found the features these variants are compiled for.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { x86::map_pixels_avx512(src, &mut out, kernel) },
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { x86::map_pixels_avx2(src, &mut out, kernel) },
        _ => map_pixels_portable(src, &mut out, kernel),
    }
    RgbImage::from_raw(image.width(), image.height(), out).expect("buffer sized from the image")
}

/// The loop every variant inlines: de-interleave a block, run the kernel, interleave it back,
/// appending to `dst`.
#[inline(always)]
fn map_pixels_portable<K: PixelKernel>(src: &[u8], dst: &mut Vec<u8>, kernel: &K) {
    const BLOCK: usize = 3 * LANES;
    let mut planes: Planes = [[0; LANES]; 3];
    let mut src_blocks = src.chunks_exact(BLOCK);
    for s in &mut src_blocks {
        let s: &[u8; BLOCK] = s.try_into().expect("whole block");
        let mut d = [0u8; BLOCK];
        for i in 0..LANES {
            for (c, plane) in planes.iter_mut().enumerate() {
                plane[i] = s[3 * i + c];
            }
        }
        run_block(kernel, &mut planes);
        for i in 0..LANES {
            for (c, plane) in planes.iter().enumerate() {
                d[3 * i + c] = plane[i];
            }
        }
        dst.extend_from_slice(&d);
    }
    let s = src_blocks.remainder();
    if !s.is_empty() {
        let mut planes: Planes = [[0; LANES]; 3];
        for (i, px) in s.chunks_exact(3).enumerate() {
            for (c, plane) in planes.iter_mut().enumerate() {
                plane[i] = px[c];
            }
        }
        run_block(kernel, &mut planes);
        for i in 0..s.len() / 3 {
            dst.extend(planes.iter().map(|plane| plane[i]));
        }
    }
}

/// The image with every value `v` replaced by `table[v]`.
pub(crate) fn map_bytes(image: &RgbImage, table: &[u8; 256]) -> RgbImage {
    map_bytes_at(Level::detect(), image, table)
}

pub(crate) fn map_bytes_at(level: Level, image: &RgbImage, table: &[u8; 256]) -> RgbImage {
    map_channels_at(level, image, &[table; 3])
}

/// The image with every red value `v` replaced by `tables[0][v]`, green by `tables[1][v]`, ...
pub(crate) fn map_channels(image: &RgbImage, tables: &[[u8; 256]; 3]) -> RgbImage {
    map_channels_at(Level::detect(), image, &[&tables[0], &tables[1], &tables[2]])
}

pub(crate) fn map_channels_at(level: Level, image: &RgbImage, tables: &[&[u8; 256]; 3]) -> RgbImage {
    let mut out = Vec::with_capacity(image.as_raw().len());
    match level {
        // SAFETY: `detect` (or `available`) found AVX-512 F, BW and VBMI.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { x86::map_channels_vbmi(image.as_raw(), &mut out, tables) },
        _ => {}
    }
    // What the vector loop left starts a pixel (it does whole 64-pixel groups).
    let done = out.len();
    out.extend(image.as_raw()[done..].iter().enumerate().map(|(i, &v)| tables[i % 3][usize::from(v)]));
    RgbImage::from_raw(image.width(), image.height(), out).expect("buffer sized from the image")
}

/// Appends the pixels of `src` in reverse order to `dst`: one row of a horizontal flip.
pub(crate) fn reverse_pixels(src: &[u8], dst: &mut Vec<u8>) {
    reverse_pixels_at(Level::detect(), src, dst)
}

pub(crate) fn reverse_pixels_at(level: Level, src: &[u8], dst: &mut Vec<u8>) {
    let done = match level {
        // SAFETY: `detect` (or `available`) found AVX-512 F, BW and VBMI.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { x86::reverse_pixels_vbmi(src, dst) },
        _ => 0,
    };
    // The middle the vector loop left: the first `rest` source pixels, reversed, end the row.
    let rest = src.len() / 3 - done;
    dst.extend(src[..3 * rest].chunks_exact(3).rev().flatten());
}

/// Linear interpolation between pairs of neighbouring pixels of one row: for each output
/// pixel `c`, `out[3 c + k] = row[at[c] + k] · (2048 − fx[c]) + row[at[c] + 3 + k] · fx[c]`
/// (`fx` at most 2048). `row` must reach 7 bytes past every `at` (the vector loop reads a
/// pixel and the next byte at a time).
pub(crate) fn lerp_pixels(row: &[u8], at: &[u32], fx: &[u32], out: &mut [u32]) {
    lerp_pixels_at(Level::detect(), row, at, fx, out)
}

pub(crate) fn lerp_pixels_at(level: Level, row: &[u8], at: &[u32], fx: &[u32], out: &mut [u32]) {
    assert!(at.len() == fx.len() && out.len() == 3 * at.len(), "one position and weight per pixel");
    assert!(at.iter().all(|&a| a as usize + 7 <= row.len()), "positions inside the row");
    let done = match level {
        // SAFETY: `detect` (or `available`) found AVX-512 F and BW; positions are checked above.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { x86::lerp_pixels_avx512(row, at, fx, out) },
        _ => 0,
    };
    for ((o, &a), &f) in out[3 * done..].chunks_exact_mut(3).zip(&at[done..]).zip(&fx[done..]) {
        let px: &[u8; 6] = row[a as usize..a as usize + 6].try_into().expect("two pixels");
        for k in 0..3 {
            o[k] = u32::from(px[k]) * (2048 - f) + u32::from(px[k + 3]) * f;
        }
    }
}

/// One output row of a bilinear warp: pixel `i` samples the `w × h` interleaved RGB `src` at
/// (`qx[i]`, `qy[i]`) / 2048 in pixel-index space, as `warp`'s scalar `sample` does (which
/// `scalar` is, for whatever the vector loop leaves): black a pixel or more outside, neighbours
/// outside counting as black, weights out of 2^22 rounded once. Positions arrive clamped to
/// `-2048 ..= 2048 · w` and `-2048 ..= 2048 · h`, which keeps every outside position outside.
pub(crate) fn sample_row(
    src: &[u8],
    (w, h): (usize, usize),
    (qx, qy): (&[i32], &[i32]),
    out: &mut [u8],
    scalar: impl Fn(i32, i32, &mut [u8; 3]),
) {
    sample_row_at(Level::detect(), src, (w, h), (qx, qy), out, scalar)
}

pub(crate) fn sample_row_at(
    level: Level,
    src: &[u8],
    (w, h): (usize, usize),
    (qx, qy): (&[i32], &[i32]),
    out: &mut [u8],
    scalar: impl Fn(i32, i32, &mut [u8; 3]),
) {
    assert!(qx.len() == qy.len() && out.len() == 3 * qx.len() && src.len() == 3 * w * h, "one position a pixel");
    // The vector loop's byte offsets must fit an i32, with room to spare.
    let fits = src.len() < (1 << 30) && w < (1 << 16) && h < (1 << 16);
    let done = match level {
        // SAFETY: `detect` (or `available`) found AVX-512 F, BW and VBMI; sizes checked above.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 if fits => unsafe { x86::sample_row_avx512(src, (w, h), (qx, qy), out, &scalar) },
        _ => 0,
    };
    for ((px, &x), &y) in out[3 * done..].chunks_exact_mut(3).zip(&qx[done..]).zip(&qy[done..]) {
        scalar(x, y, px.try_into().expect("3 bytes"));
    }
}

/// The sum of every value of each channel.
pub(crate) fn channel_sums(image: &RgbImage) -> [u64; 3] {
    // One u32 sum per position in a 192-byte group (64 pixels; value k is channel k % 3): a
    // loop the compiler vectorises. Up to 2^24 groups per round, so that no sum overflows.
    const GROUP: usize = 192;
    let data = image.as_raw();
    let whole = data.len() / GROUP * GROUP;
    let mut sums = [0u64; 3];
    for round in data[..whole].chunks(GROUP << 24) {
        // With AVX-512 the 192 sums stay in 12 registers.
        let parts = vectorised(
            #[inline(always)]
            || {
                let mut parts = [0u32; GROUP];
                for group in round.chunks_exact(GROUP) {
                    for (part, &v) in parts.iter_mut().zip(group) {
                        *part += u32::from(v);
                    }
                }
                parts
            },
        );
        for (k, &part) in parts.iter().enumerate() {
            sums[k % 3] += u64::from(part);
        }
    }
    for (k, &v) in data[whole..].iter().enumerate() {
        sums[k % 3] += u64::from(v);
    }
    sums
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{map_pixels_portable, run_block, PixelKernel, Planes, LANES};

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2,fma,bmi2")]
    pub(super) unsafe fn run_avx512<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    #[target_feature(enable = "avx2,fma,bmi2")]
    pub(super) unsafe fn run_avx2<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    /// De-interleaves and interleaves each block with three byte permutes (the compiler's own
    /// code for the portable loop moves bytes one at a time); the tail runs the portable loop.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi,avx2,fma,bmi2")]
    pub(super) unsafe fn map_pixels_avx512<K: PixelKernel>(src: &[u8], dst: &mut Vec<u8>, kernel: &K) {
        const BLOCK: usize = 3 * LANES;
        // Planar lane i of channel c is interleaved byte 3 i + c (of the 128 bytes of two registers).
        let split: [__m512i; 3] = std::array::from_fn(|c| {
            let index: [u8; 64] = std::array::from_fn(|i| if i < LANES { (3 * i + c) as u8 } else { 0 });
            // SAFETY: reads the 64 bytes of `index`.
            unsafe { _mm512_loadu_si512(index.as_ptr().cast()) }
        });
        // Interleaved byte j is lane j / 3 of channel j % 3; R and G share the first register
        // (G from byte 32), B is the second's low half.
        let join: [__m512i; 2] = std::array::from_fn(|half| {
            let index: [u8; 64] = std::array::from_fn(|k| {
                let j = 64 * half + k;
                if j < BLOCK {
                    [j / 3, 32 + j / 3, 64 + j / 3][j % 3] as u8
                } else {
                    0
                }
            });
            // SAFETY: reads the 64 bytes of `index`.
            unsafe { _mm512_loadu_si512(index.as_ptr().cast()) }
        });
        let low32: __mmask64 = (1 << 32) - 1;
        let mut planes: Planes = [[0; LANES]; 3];
        let blocks = src.len() / BLOCK;
        let mut d = [0u8; 128];
        for k in 0..blocks {
            let s = &src[k * BLOCK..(k + 1) * BLOCK];
            // SAFETY: the loads stay inside the block's 96 bytes (the second is masked to 32), the
            // stores inside the 128 bytes of `d`, and each plane is 32 bytes.
            unsafe {
                let a = _mm512_loadu_si512(s.as_ptr().cast());
                let b = _mm512_maskz_loadu_epi8(low32, s[64..].as_ptr().cast());
                for (plane, index) in planes.iter_mut().zip(&split) {
                    let x = _mm512_permutex2var_epi8(a, *index, b);
                    _mm256_storeu_si256(plane.as_mut_ptr().cast(), _mm512_castsi512_si256(x));
                }
                run_block(kernel, &mut planes);
                let [r, g, b] = planes.each_ref().map(|p| _mm256_loadu_si256(p.as_ptr().cast()));
                let rg = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(r), g);
                let b = _mm512_zextsi256_si512(b);
                _mm512_storeu_si512(d.as_mut_ptr().cast(), _mm512_permutex2var_epi8(rg, join[0], b));
                _mm512_storeu_si512(d[64..].as_mut_ptr().cast(), _mm512_permutex2var_epi8(rg, join[1], b));
            }
            dst.extend_from_slice(&d[..BLOCK]);
        }
        map_pixels_portable(&src[blocks * BLOCK..], dst, kernel)
    }

    #[target_feature(enable = "avx2,fma,bmi2")]
    pub(super) unsafe fn map_pixels_avx2<K: PixelKernel>(src: &[u8], dst: &mut Vec<u8>, kernel: &K) {
        map_pixels_portable(src, dst, kernel)
    }

    /// Table lookups 64 values at a time with two-register byte permutes, appended to `dst` in
    /// whole 192-byte groups (so that the channel pattern restarts at each).
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    pub(super) fn map_channels_vbmi(src: &[u8], dst: &mut Vec<u8>, tables: &[&[u8; 256]; 3]) {
        // A table as four 64-entry registers: `permutex2var` picks from two by the index's low
        // 7 bits, and the top bit chooses between the two halves.
        let mut t = [[_mm512_setzero_si512(); 4]; 3];
        for (regs, table) in t.iter_mut().zip(tables) {
            for (q, reg) in regs.iter_mut().enumerate() {
                // SAFETY: reads entries 64 q .. 64 (q + 1) of a 256-entry table.
                *reg = unsafe { _mm512_loadu_si512(table[64 * q..].as_ptr().cast()) };
            }
        }
        let same = tables[0] == tables[1] && tables[1] == tables[2];
        // Value k of the j-th register in a group belongs to channel (64 j + k) % 3.
        let masks: [[u64; 3]; 3] = std::array::from_fn(|j| {
            std::array::from_fn(|c| (0..64).filter(|k| (64 * j + k) % 3 == c).fold(0u64, |m, k| m | 1 << k))
        });
        let mut d = [0u8; 192];
        for s in src.chunks_exact(192) {
            for j in 0..3 {
                // SAFETY: bytes 64 j .. 64 (j + 1) of a 192-byte chunk, read and written whole.
                let x = unsafe { _mm512_loadu_si512(s[64 * j..].as_ptr().cast()) };
                let high = _mm512_movepi8_mask(x);
                let y = if same {
                    lookup(&t[0], x, high)
                } else {
                    let (r, g, b) = (lookup(&t[0], x, high), lookup(&t[1], x, high), lookup(&t[2], x, high));
                    let y = _mm512_mask_blend_epi8(masks[j][1], r, g);
                    _mm512_mask_blend_epi8(masks[j][2], y, b)
                };
                // SAFETY: bytes 64 j .. 64 (j + 1) of the 192 of `d`.
                unsafe { _mm512_storeu_si512(d[64 * j..].as_mut_ptr().cast(), y) };
            }
            dst.extend_from_slice(&d);
        }
    }

    /// Reverses whole groups of 16 pixels (48 bytes) with one byte permute each, taken from the
    /// end of the row and appended to `dst`; returns how many pixels it appended.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    pub(super) fn reverse_pixels_vbmi(src: &[u8], dst: &mut Vec<u8>) -> usize {
        let n = src.len() / 3;
        // 16, not 21 (63 bytes, one register's worth): appending 48 bytes is three vector
        // moves, appending 63 a call to `memcpy`, and measured twice as slow.
        const PIXELS: usize = 16;
        const BYTES: usize = 3 * PIXELS;
        let groups = n / PIXELS;
        // Byte 3 i + c of the output is byte 3 (15 - i) + c of the input.
        let index: [u8; 64] =
            std::array::from_fn(|k| if k < BYTES { (3 * (PIXELS - 1 - k / 3) + k % 3) as u8 } else { 0 });
        // SAFETY: reads the 64 bytes of `index`.
        let index = unsafe { _mm512_loadu_si512(index.as_ptr().cast()) };
        let mask: __mmask64 = (1 << BYTES) - 1;
        let mut d = [0u8; 64];
        for g in 0..groups {
            let from = 3 * (n - PIXELS * (g + 1));
            // SAFETY: the mask limits the load to the 48 bytes from `from` (`from` + 48 <= 3 n);
            // the store writes the 64 bytes of `d`.
            unsafe {
                let x = _mm512_maskz_loadu_epi8(mask, src[from..from + BYTES].as_ptr().cast());
                _mm512_storeu_si512(d.as_mut_ptr().cast(), _mm512_permutexvar_epi8(index, x));
            }
            dst.extend_from_slice(&d[..BYTES]);
        }
        PIXELS * groups
    }

    /// Sixteen pixels at a time: two 4-byte gathers per pixel (left neighbour and right), three
    /// channels picked out by shifts, and the 48 results interleaved by three dword permutes.
    /// Returns how many pixels it did. The caller checked that `row` reaches `at + 7`.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn lerp_pixels_avx512(row: &[u8], at: &[u32], fx: &[u32], out: &mut [u32]) -> usize {
        let groups = at.len() / 16;
        // Output u32 j of the 48 is channel j % 3 of pixel j / 3; channel vectors r, g, b hold
        // pixels in lanes. One permute picks from r and g (index + 16 for g), a masked one adds b.
        let rg_index = |part: usize| -> [u32; 16] {
            std::array::from_fn(|l| {
                let j = 16 * part + l;
                [j / 3, 16 + j / 3, 0][j % 3] as u32
            })
        };
        let b_index = |part: usize| -> [u32; 16] { std::array::from_fn(|l| ((16 * part + l) / 3) as u32) };
        let load = |a: [u32; 16]| {
            // SAFETY: reads the 64 bytes of `a`.
            unsafe { _mm512_loadu_si512(a.as_ptr().cast()) }
        };
        // For each part: the r/g permute index, then which lanes take b and from where.
        let rg: [__m512i; 3] = std::array::from_fn(|part| load(rg_index(part)));
        let b_from: [__m512i; 3] = std::array::from_fn(|part| load(b_index(part)));
        let b_lanes: [__mmask16; 3] =
            std::array::from_fn(|part| (0..16).filter(|l| (16 * part + l) % 3 == 2).fold(0, |m, l| m | 1 << l));
        let byte = _mm512_set1_epi32(0xff);
        let one = _mm512_set1_epi32(2048);
        let base = row.as_ptr();
        for g in 0..groups {
            // SAFETY: 16 values each from `at` and `fx`, inside them (g < groups); gathers read 4
            // bytes at `at` and at `at + 3`, both within `row` (checked by the caller).
            unsafe {
                let a = _mm512_loadu_si512(at[16 * g..].as_ptr().cast());
                let f = _mm512_loadu_si512(fx[16 * g..].as_ptr().cast());
                let left = _mm512_i32gather_epi32::<1>(a, base.cast());
                let right = _mm512_i32gather_epi32::<1>(_mm512_add_epi32(a, _mm512_set1_epi32(3)), base.cast());
                let wl = _mm512_sub_epi32(one, f);
                let channel = |k: u32| {
                    let l = _mm512_and_si512(_mm512_srlv_epi32(left, _mm512_set1_epi32(8 * k as i32)), byte);
                    let r = _mm512_and_si512(_mm512_srlv_epi32(right, _mm512_set1_epi32(8 * k as i32)), byte);
                    _mm512_add_epi32(_mm512_mullo_epi32(l, wl), _mm512_mullo_epi32(r, f))
                };
                let (r, gr, b) = (channel(0), channel(1), channel(2));
                for part in 0..3 {
                    let v = _mm512_permutex2var_epi32(r, rg[part], gr);
                    let v = _mm512_mask_permutexvar_epi32(v, b_lanes[part], b_from[part], b);
                    _mm512_storeu_si512(out[48 * g + 16 * part..].as_mut_ptr().cast(), v);
                }
            }
        }
        16 * groups
    }

    /// Sixteen pixels at a time: four masked 4-byte gathers (the neighbours; a lane whose
    /// neighbour is outside gathers 0), integer weights, three channels picked out by shifts, and
    /// one byte permute packing 16 pixels into 48 bytes. A group touching the image's last pixel
    /// (a 4-byte read there would pass the end) goes to `scalar`. Returns how many pixels it did.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    pub(super) unsafe fn sample_row_avx512(
        src: &[u8],
        (w, h): (usize, usize),
        (qx, qy): (&[i32], &[i32]),
        out: &mut [u8],
        scalar: &impl Fn(i32, i32, &mut [u8; 3]),
    ) -> usize {
        const FRAC: u32 = 11;
        const ONE: i32 = 1 << FRAC;
        let groups = qx.len() / 16;
        let (wv, hv) = (_mm512_set1_epi32(w as i32), _mm512_set1_epi32(h as i32));
        let (one, frac) = (_mm512_set1_epi32(ONE), _mm512_set1_epi32(ONE - 1));
        let zero = _mm512_setzero_si512();
        let last = _mm512_set1_epi32(src.len() as i32 - 4);
        let (right, down) = (_mm512_set1_epi32(3), _mm512_set1_epi32(3 * w as i32));
        // Byte k of 48 is byte k % 3 of the k / 3-th 4-byte pixel.
        let pack: [u8; 64] = std::array::from_fn(|k| if k < 48 { (4 * (k / 3) + k % 3) as u8 } else { 0 });
        // SAFETY: reads the 64 bytes of `pack`.
        let pack = unsafe { _mm512_loadu_si512(pack.as_ptr().cast()) };
        let base = src.as_ptr();
        let mut d = [0u8; 64];
        for g in 0..groups {
            // SAFETY: 16 positions each from `qx` and `qy` (g < groups).
            let (x, y) = unsafe {
                (_mm512_loadu_si512(qx[16 * g..].as_ptr().cast()), _mm512_loadu_si512(qy[16 * g..].as_ptr().cast()))
            };
            let drawn = _mm512_cmpgt_epi32_mask(x, _mm512_set1_epi32(-ONE))
                & _mm512_cmpgt_epi32_mask(y, _mm512_set1_epi32(-ONE))
                & _mm512_cmplt_epi32_mask(x, _mm512_slli_epi32::<FRAC>(wv))
                & _mm512_cmplt_epi32_mask(y, _mm512_slli_epi32::<FRAC>(hv));
            let (x0, y0) = (_mm512_srai_epi32::<FRAC>(x), _mm512_srai_epi32::<FRAC>(y));
            let (fx, fy) = (_mm512_and_si512(x, frac), _mm512_and_si512(y, frac));
            let left_in = _mm512_cmpge_epi32_mask(x0, zero);
            let right_in = _mm512_cmplt_epi32_mask(_mm512_add_epi32(x0, _mm512_set1_epi32(1)), wv);
            let top_in = _mm512_cmpge_epi32_mask(y0, zero);
            let bottom_in = _mm512_cmplt_epi32_mask(_mm512_add_epi32(y0, _mm512_set1_epi32(1)), hv);
            let masks = [
                drawn & left_in & top_in,
                drawn & right_in & top_in,
                drawn & left_in & bottom_in,
                drawn & right_in & bottom_in,
            ];
            let at = _mm512_mullo_epi32(_mm512_add_epi32(_mm512_mullo_epi32(y0, wv), x0), right);
            let offsets = [
                at,
                _mm512_add_epi32(at, right),
                _mm512_add_epi32(at, down),
                _mm512_add_epi32(_mm512_add_epi32(at, down), right),
            ];
            let overread = masks.iter().zip(&offsets).fold(0, |m, (&k, &o)| m | (k & _mm512_cmpgt_epi32_mask(o, last)));
            let dst: &mut [u8; 48] = (&mut out[48 * g..48 * (g + 1)]).try_into().expect("48 bytes");
            if overread != 0 {
                for (l, px) in dst.chunks_exact_mut(3).enumerate() {
                    scalar(qx[16 * g + l], qy[16 * g + l], px.try_into().expect("3 bytes"));
                }
                continue;
            }
            // SAFETY: each gather reads 4 bytes at an offset of a neighbour inside the image, and
            // no such offset is past `src.len() - 4` (`overread` is empty).
            let p: [__m512i; 4] = std::array::from_fn(|k| unsafe {
                _mm512_mask_i32gather_epi32::<1>(zero, masks[k], offsets[k], base.cast())
            });
            let (gx, gy) = (_mm512_sub_epi32(one, fx), _mm512_sub_epi32(one, fy));
            let weights = [
                _mm512_mullo_epi32(gx, gy),
                _mm512_mullo_epi32(fx, gy),
                _mm512_mullo_epi32(gx, fy),
                _mm512_mullo_epi32(fx, fy),
            ];
            let mut pixel = zero;
            for c in 0..3 {
                let shift = _mm512_set1_epi32(8 * c);
                let mut sum = _mm512_set1_epi32(1 << (2 * FRAC - 1));
                for k in 0..4 {
                    let v = _mm512_and_si512(_mm512_srlv_epi32(p[k], shift), _mm512_set1_epi32(0xff));
                    sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(v, weights[k]));
                }
                let v = _mm512_srli_epi32::<{ 2 * FRAC }>(sum);
                pixel = _mm512_or_si512(pixel, _mm512_sllv_epi32(v, shift));
            }
            let pixel = _mm512_maskz_mov_epi32(drawn, pixel);
            // SAFETY: writes the 64 bytes of `d`.
            unsafe { _mm512_storeu_si512(d.as_mut_ptr().cast(), _mm512_permutexvar_epi8(pack, pixel)) };
            dst.copy_from_slice(&d[..48]);
        }
        16 * groups
    }

    /// `table[x]` for each of the 64 values of `x`; `high` holds their top bits.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    fn lookup(table: &[__m512i; 4], x: __m512i, high: __mmask64) -> __m512i {
        let lo = _mm512_permutex2var_epi8(table[0], x, table[1]);
        let hi = _mm512_permutex2var_epi8(table[2], x, table[3]);
        _mm512_mask_blend_epi8(high, lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;
    use crate::perturb::case_rng;

    fn noise_image(w: u32, h: u32) -> RgbImage {
        let mut rng = case_rng(7, "simd", 0);
        RgbImage::from_fn(w, h, |_, _| image::Rgb(rng.random()))
    }

    struct Swirl;

    impl PixelKernel for Swirl {
        #[inline(always)]
        fn pixel(&self, [r, g, b]: [u8; 3]) -> [u8; 3] {
            let (rf, gf, bf) = (r as f32, g as f32, b as f32);
            let red = ((rf * 0.7 + gf * 0.2 + bf * 0.1) / 1.3 + 0.5) as u8;
            [red, b.wrapping_mul(3) ^ red, (u16::from(b) * 200 / 255) as u8]
        }
    }

    #[test]
    fn every_level_maps_pixels_like_the_kernel_one_by_one() {
        // Sizes with and without a partial last block.
        for (w, h) in [(1, 1), (32, 1), (33, 3), (640, 3), (17, 19)] {
            let img = noise_image(w, h);
            for level in Level::available() {
                let out = map_pixels_at(level, &img, &Swirl);
                for (p, q) in img.pixels().zip(out.pixels()) {
                    assert_eq!(q.0, Swirl.pixel(p.0), "{level:?} at {w}x{h}");
                }
            }
        }
    }

    #[test]
    fn every_level_looks_up_tables_per_channel() {
        let mut rng = case_rng(8, "simd", 0);
        let tables: [[u8; 256]; 3] = std::array::from_fn(|_| std::array::from_fn(|_| rng.random()));
        let refs = [&tables[0], &tables[1], &tables[2]];
        for (w, h) in [(1, 1), (64, 1), (65, 3), (640, 7), (17, 19)] {
            let img = noise_image(w, h);
            for level in Level::available() {
                let out = map_channels_at(level, &img, &refs);
                for (p, q) in img.pixels().zip(out.pixels()) {
                    let want = [tables[0][p[0] as usize], tables[1][p[1] as usize], tables[2][p[2] as usize]];
                    assert_eq!(q.0, want, "{level:?} at {w}x{h}");
                }
                let one = map_bytes_at(level, &img, &tables[1]);
                assert!(img.as_raw().iter().zip(one.as_raw()).all(|(&v, &o)| o == tables[1][v as usize]));
            }
        }
    }

    #[test]
    fn every_level_reverses_pixels() {
        for n in [0, 1, 15, 16, 17, 33, 640, 641] {
            let src: Vec<u8> = (0..3 * n).map(|i| (i * 7 % 251) as u8).collect();
            let want: Vec<u8> = src.chunks_exact(3).rev().flatten().copied().collect();
            for level in Level::available() {
                let mut dst = vec![9];
                reverse_pixels_at(level, &src, &mut dst);
                assert_eq!(dst.remove(0), 9, "appends");
                assert_eq!(dst, want, "{level:?}, {n} pixels");
            }
        }
    }

    #[test]
    fn every_level_interpolates_pixel_pairs() {
        let mut rng = case_rng(9, "simd", 0);
        let row: Vec<u8> = (0..3 * 100 + 7).map(|_| rng.random()).collect();
        for n in [0usize, 1, 16, 17, 40, 53] {
            let at: Vec<u32> = (0..n).map(|_| 3 * rng.random_range(0..100u32)).collect();
            let fx: Vec<u32> =
                (0..n as u32).map(|i| if i % 5 == 0 { 2048 * (i % 2) } else { rng.random_range(0..=2048) }).collect();
            let want: Vec<u32> = at
                .iter()
                .zip(&fx)
                .flat_map(|(&a, &f)| {
                    let a = a as usize;
                    [0, 1, 2].map(|k| u32::from(row[a + k]) * (2048 - f) + u32::from(row[a + 3 + k]) * f)
                })
                .collect();
            for level in Level::available() {
                let mut out = vec![0; 3 * n];
                lerp_pixels_at(level, &row, &at, &fx, &mut out);
                assert_eq!(out, want, "{level:?}, {n} pixels");
            }
        }
    }

    #[test]
    fn channel_sums_add_every_value() {
        let img = noise_image(301, 50);
        let mut want = [0u64; 3];
        for p in img.pixels() {
            for c in 0..3 {
                want[c] += u64::from(p[c]);
            }
        }
        assert_eq!(channel_sums(&img), want);
    }
}

//! JPEG compression artifacts: encode at a given quality and decode again.

use image::RgbImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use super::simd::{map_pixels, PixelKernel};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "jpeg_compression",
    factor: RiskFactor::ImageQuality,
    summary: "JPEG re-encoding at a low quality",
    params: &[ParamInfo {
        name: "quality",
        unit: "JPEG quality 1-100",
        min: 1.0,
        max: 100.0,
        default: 20.0,
        integer: true,
    }],
    // imagecorruptions' jpeg_compression severities.
    severities: [&[25.0], &[18.0], &[15.0], &[10.0], &[7.0]],
    make: |p| Box::new(JpegCompression { quality: p.get("quality").round() as u8 }),
};

pub struct JpegCompression {
    pub quality: u8,
}

impl Perturbation for JpegCompression {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let (w, h) = image.dimensions();
        let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
            return image.clone(); // beyond JPEG's 65535-pixel limit: nothing to degrade
        };
        let mut bytes = Vec::new();
        let mut encoder = Encoder::new(&mut bytes, self.quality.clamp(1, 100));
        // 4:2:0 chroma, as Pillow (and so imagecorruptions) and most cameras write.
        encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
        if encoder.encode(&libjpeg_ycbcr(image), w16, h16, ColorType::Ycbcr).is_err() {
            return image.clone(); // empty images: nothing to degrade
        }
        match image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg) {
            Ok(decoded) => decoded.into_rgb8(),
            Err(_) => image.clone(),
        }
    }
}

/// The image in YCbCr as libjpeg (behind Pillow) converts it, with each 2×2 block's chroma
/// averaged into its top-left pixel as libjpeg's `h2v2_downsample` does (rounding bias 1, 2,
/// 1, … along the row). `jpeg_encoder` subsamples chroma by taking that top-left pixel, so it
/// encodes libjpeg's averages; its own RGB path would alias chroma and lose ~3 dB of parity.
fn libjpeg_ycbcr(image: &RgbImage) -> Vec<u8> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut out = map_pixels(image, &LibjpegYcc).into_raw();
    let stride = 3 * w;
    // Each 2x2 block's chroma, averaged in place into its top-left pixel: a block reads only its
    // own pixels (edges replicate the last column and row, as libjpeg pads to whole blocks), so
    // no block sees another's result.
    for by in (0..h).step_by(2) {
        let (row, rest) = out[by * stride..].split_at_mut(stride);
        let last_row_copy;
        let bottom: &[u8] = if by + 1 < h {
            &rest[..stride]
        } else {
            last_row_copy = row.to_vec();
            &last_row_copy
        };
        super::simd::vectorised(
            #[inline(always)]
            || {
                // Whole blocks: two pixels of the row and of the one below (6 bytes each).
                for (k, (o, b)) in row.chunks_exact_mut(6).zip(bottom.chunks_exact(6)).enumerate() {
                    let t: [u8; 6] = (&*o).try_into().expect("6 bytes");
                    let bias = 1 + (k % 2) as u16;
                    for c in 1..3 {
                        let sum = u16::from(t[c]) + u16::from(t[c + 3]) + u16::from(b[c]) + u16::from(b[c + 3]);
                        o[c] = ((sum + bias) >> 2) as u8;
                    }
                }
            },
        );
        if w % 2 == 1 {
            // The last column pairs with itself.
            let (x, k) = (3 * (w - 1), w / 2);
            let bias = 1 + (k % 2) as u16;
            for c in 1..3 {
                let sum = 2 * u16::from(row[x + c]) + 2 * u16::from(bottom[x + c]);
                row[x + c] = ((sum + bias) >> 2) as u8;
            }
        }
    }
    out
}

/// RGB to YCbCr in libjpeg's fixed point: FIX(x) = round(x · 2^16), as jccolor.c; chroma
/// rounds with ONE_HALF - 1.
struct LibjpegYcc;

impl PixelKernel for LibjpegYcc {
    #[inline(always)]
    fn pixel(&self, rgb: [u8; 3]) -> [u8; 3] {
        let [r, g, b] = rgb.map(i32::from);
        let y = (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;
        let cb = (-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16;
        let cr = (32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16;
        [y, cb, cr].map(|v| v.clamp(0, 255) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn chroma_is_averaged_per_block_as_libjpeg() {
        // Grey has neutral chroma; pure red and blue average to their midpoint, bias 1.
        let grey = RgbImage::from_pixel(1, 1, image::Rgb([90, 90, 90]));
        assert_eq!(libjpeg_ycbcr(&grey), [90, 128, 128]);
        let img =
            RgbImage::from_fn(2, 2, |x, _| if x == 0 { image::Rgb([255, 0, 0]) } else { image::Rgb([0, 0, 255]) });
        let ycc = libjpeg_ycbcr(&img);
        // Cb of red 85, of blue 255: (85 + 255 + 85 + 255 + 1) >> 2 = 170; Cr 255 and 107: 181.
        assert_eq!((ycc[1], ycc[2]), (170, 181));
        assert_eq!(ycc[3 + 1], 255, "only the block's first pixel carries the average");
    }

    #[test]
    fn lower_quality_loses_more() {
        let img = RgbImage::from_fn(48, 32, |x, y| image::Rgb([(x * 5) as u8, (y * 7) as u8, ((x * y) % 255) as u8]));
        let error = |quality| {
            let out = JpegCompression { quality }.apply(&img, &mut case_rng(0, "", 0));
            out.iter().zip(img.iter()).map(|(&a, &b)| u64::from(a.abs_diff(b))).sum::<u64>()
        };
        assert!(error(5) > error(50) && error(50) > error(95), "{} {} {}", error(5), error(50), error(95));
    }
}

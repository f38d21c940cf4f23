//! Letterbox pre-processing as ultralytics does it: keep the aspect ratio, pad with grey 114,
//! centre the image, scale to 0-1, NCHW RGB.

use image::{imageops, RgbImage};

use super::Tensor;

/// The mapping from network input pixels back to original image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub gain: f32,
    pub pad: [f32; 2],
    pub image_wh: [f32; 2],
}

impl Letterbox {
    /// Pre-process an image for a `[height, width]` input.
    pub fn fit(image: &RgbImage, input_hw: [u32; 2]) -> (Tensor, Letterbox) {
        let (w0, h0) = image.dimensions();
        let [h, w] = input_hw;
        let gain = (h as f32 / h0.max(1) as f32).min(w as f32 / w0.max(1) as f32);
        let (nw, nh) = (((w0 as f32 * gain).round() as u32).max(1), ((h0 as f32 * gain).round() as u32).max(1));
        let (dw, dh) = ((w - nw.min(w)) as f32 / 2.0, (h - nh.min(h)) as f32 / 2.0);
        // ultralytics rounds the two sides of the padding apart by ±0.1.
        let (left, top) = ((dw - 0.1).round() as u32, (dh - 0.1).round() as u32);
        let resized;
        let src = if (nw, nh) == (w0, h0) {
            image
        } else {
            resized = imageops::resize(image, nw, nh, imageops::FilterType::Triangle);
            &resized
        };
        let plane = (h * w) as usize;
        let mut data = vec![114.0 / 255.0; 3 * plane];
        for (x, y, px) in src.enumerate_pixels() {
            let (tx, ty) = (x + left, y + top);
            if tx < w && ty < h {
                let i = (ty * w + tx) as usize;
                for c in 0..3 {
                    data[c * plane + i] = px[c] as f32 / 255.0;
                }
            }
        }
        let tensor = Tensor { shape: vec![1, 3, h as usize, w as usize], data };
        (tensor, Letterbox { gain, pad: [left as f32, top as f32], image_wh: [w0 as f32, h0 as f32] })
    }

    /// Map an `[x1, y1, x2, y2]` box from input pixels to image pixels, clipped to the image.
    pub fn to_image(&self, b: [f32; 4]) -> [f32; 4] {
        let [px, py] = self.pad;
        let [w, h] = self.image_wh;
        [
            ((b[0] - px) / self.gain).clamp(0.0, w),
            ((b[1] - py) / self.gain).clamp(0.0, h),
            ((b[2] - px) / self.gain).clamp(0.0, w),
            ((b[3] - py) / self.gain).clamp(0.0, h),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_identity() {
        let img = RgbImage::from_pixel(4, 4, image::Rgb([255, 0, 0]));
        let (t, lb) = Letterbox::fit(&img, [4, 4]);
        assert_eq!(t.shape, vec![1, 3, 4, 4]);
        assert_eq!(t.data[0], 1.0);
        assert_eq!(t.data[16], 0.0);
        assert_eq!(lb.to_image([1.0, 2.0, 3.0, 4.0]), [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn wide_image_is_padded_top_and_bottom() {
        let img = RgbImage::from_pixel(8, 4, image::Rgb([0, 0, 0]));
        let (t, lb) = Letterbox::fit(&img, [8, 8]);
        assert_eq!(lb.gain, 1.0);
        assert_eq!(lb.pad, [0.0, 2.0]);
        assert_eq!(t.data[0], 114.0 / 255.0); // top padding row
        assert_eq!(t.data[2 * 8], 0.0); // first image row
        assert_eq!(lb.to_image([0.0, 2.0, 8.0, 6.0]), [0.0, 0.0, 8.0, 4.0]);
    }

    #[test]
    fn boxes_are_clipped_to_the_image() {
        let img = RgbImage::new(10, 10);
        let (_, lb) = Letterbox::fit(&img, [20, 20]);
        assert_eq!(lb.to_image([-4.0, -4.0, 40.0, 40.0]), [0.0, 0.0, 10.0, 10.0]);
    }
}

//! Classifier "decoder": logits or probabilities `[1, C]` (or `[C]`) → class probabilities.
//! Softmax unless the outputs already are probabilities (all in 0..=1, summing to ~1).

use super::Tensor;

/// Class probabilities; `classes` is the suite's count, `None` to accept any.
pub fn probabilities(outputs: &[Tensor], classes: Option<usize>) -> Result<Vec<f32>, String> {
    let out = match outputs {
        [out] => out,
        _ => return Err(format!("expected one output [1, classes], found {}", super::shapes(outputs))),
    };
    let n = match out.shape.as_slice() {
        [1, n] | [n] if *n > 0 => *n,
        other => return Err(format!("expected one output [1, classes], found {other:?}")),
    };
    if let Some(c) = classes.filter(|&c| c != n) {
        return Err(format!("the output has {n} classes, but `classes` lists {c}"));
    }
    let x = &out.data[..n];
    let sum: f32 = x.iter().sum();
    if x.iter().all(|v| (0.0..=1.0).contains(v)) && (sum - 1.0).abs() < 1e-3 {
        return Ok(x.to_vec());
    }
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = x.iter().map(|v| (v - max).exp()).collect();
    let total: f32 = exp.iter().sum();
    Ok(exp.into_iter().map(|e| e / total).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(data: &[f32]) -> Vec<Tensor> {
        vec![Tensor { name: "out".into(), shape: vec![1, data.len()], data: data.to_vec() }]
    }

    #[test]
    fn logits_get_a_softmax_probabilities_do_not() {
        let p = probabilities(&output(&[0.0, 0.0, 2.0_f32.ln()]), Some(3)).unwrap();
        assert!((p[2] - 0.5).abs() < 1e-6 && (p[0] - 0.25).abs() < 1e-6, "{p:?}");
        assert_eq!(probabilities(&output(&[0.2, 0.8]), None).unwrap(), vec![0.2, 0.8]);
    }

    #[test]
    fn class_count_and_shape_are_checked() {
        assert!(probabilities(&output(&[0.2, 0.8]), Some(3)).unwrap_err().contains("`classes` lists 3"));
        let bad = vec![Tensor { name: "out".into(), shape: vec![1, 2, 2], data: vec![0.0; 4] }];
        assert!(probabilities(&bad, None).unwrap_err().contains("[1, 2, 2]"));
    }
}

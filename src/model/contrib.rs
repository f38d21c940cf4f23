//! ONNX Runtime's contrib QLinear operators (domain `com.microsoft`: `QLinearAdd`, `QLinearMul`,
//! `QLinearGlobalAveragePool`, `QLinearSigmoid`, `QLinearLeakyRelu`), which quantization tools
//! write into QOperator int8 graphs, rewritten for tract as what onnxruntime defines each to be:
//! DequantizeLinear → the float operator → QuantizeLinear. tract then runs such a graph (the ONNX
//! model zoo's int8 MobileNetV2) with the same outputs as ONNX Runtime.
//!
//! The standard QLinearConv and QLinearMatMul are left to tract's exact integer kernels: written
//! as float convolutions they ran 10x faster but moved a MobileNetV2's probabilities by several
//! points (requantization rounding flips that accumulate over 52 layers), and a baseline should
//! not depend on the backend.

use tract_onnx::pb::{AttributeProto, ModelProto, NodeProto};

use crate::onnx::Operator;

/// Whether `rewrite` replaces this operator.
pub fn rewrites(op: &Operator) -> bool {
    op.domain == "com.microsoft"
        && matches!(
            op.op_type.as_str(),
            "QLinearAdd" | "QLinearMul" | "QLinearGlobalAveragePool" | "QLinearSigmoid" | "QLinearLeakyRelu"
        )
}

/// Replace every contrib QLinear node `rewrites` accepts; how many were replaced.
pub fn rewrite(model: &mut ModelProto) -> Result<usize, String> {
    let Some(graph) = model.graph.as_mut() else { return Ok(0) };
    let mut nodes = Vec::with_capacity(graph.node.len());
    let mut rewritten = 0;
    for node in std::mem::take(&mut graph.node) {
        let op = Operator { domain: node.domain.clone(), op_type: node.op_type.clone() };
        if !rewrites(&op) {
            nodes.push(node);
            continue;
        }
        nodes.extend(float_between_quantizations(&node)?);
        rewritten += 1;
    }
    graph.node = nodes;
    Ok(rewritten)
}

/// One QLinear node as DequantizeLinear → float operator → QuantizeLinear.
fn float_between_quantizations(node: &NodeProto) -> Result<Vec<NodeProto>, String> {
    let mut b = Builder { node, nodes: Vec::new() };
    let input = |i: usize| node.input.get(i).map(String::as_str).unwrap_or_default();
    let wrong = || format!("{} node `{}` has {} inputs", node.op_type, node.name, node.input.len());
    let result = match node.op_type.as_str() {
        // a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
        "QLinearAdd" | "QLinearMul" => {
            if node.input.len() < 7 {
                return Err(wrong());
            }
            let a = b.dequantize("a", [input(0), input(1), input(2)]);
            let bb = b.dequantize("b", [input(3), input(4), input(5)]);
            let float = if node.op_type == "QLinearAdd" { "Add" } else { "Mul" };
            let y = b.op("float", float, vec![a, bb], Vec::new());
            b.quantize(y, input(6), input(7))
        }
        // x, x_scale, x_zero_point, y_scale, y_zero_point
        "QLinearGlobalAveragePool" | "QLinearSigmoid" | "QLinearLeakyRelu" => {
            if node.input.len() < 4 {
                return Err(wrong());
            }
            let channels_last = node.attribute.iter().any(|a| a.name == "channels_last" && a.i != 0);
            if channels_last {
                return Err(format!("{} node `{}` is channels-last", node.op_type, node.name));
            }
            let x = b.dequantize("x", [input(0), input(1), input(2)]);
            let (float, attributes) = match node.op_type.as_str() {
                "QLinearGlobalAveragePool" => ("GlobalAveragePool", Vec::new()),
                "QLinearSigmoid" => ("Sigmoid", Vec::new()),
                _ => ("LeakyRelu", node.attribute.iter().filter(|a| a.name == "alpha").cloned().collect()),
            };
            let y = b.op("float", float, vec![x], attributes);
            b.quantize(y, input(3), input(4))
        }
        other => return Err(format!("no float form for {other}")),
    };
    debug_assert_eq!(result, node.output[0]);
    Ok(b.nodes)
}

/// Adds nodes named after the one they replace, so names stay unique and errors point at it.
struct Builder<'a> {
    node: &'a NodeProto,
    nodes: Vec<NodeProto>,
}

impl Builder<'_> {
    fn name(&self, part: &str) -> String {
        let base = if self.node.name.is_empty() { &self.node.output[0] } else { &self.node.name };
        format!("{base}__{part}")
    }

    /// A node with one output, named `<node>__<part>`; the output's name.
    fn op(&mut self, part: &str, op_type: &str, input: Vec<String>, attribute: Vec<AttributeProto>) -> String {
        let output = self.name(part);
        self.nodes.push(NodeProto {
            input,
            output: vec![output.clone()],
            name: output.clone(),
            op_type: op_type.into(),
            attribute,
            ..Default::default()
        });
        output
    }

    /// `[value, scale, zero point]` dequantized; an absent zero point stays absent.
    fn dequantize(&mut self, part: &str, [value, scale, zero]: [&str; 3]) -> String {
        let mut input = vec![value.to_owned(), scale.to_owned()];
        if !zero.is_empty() {
            input.push(zero.to_owned());
        }
        self.op(part, "DequantizeLinear", input, Vec::new())
    }

    /// The float result quantized into the replaced node's own output.
    fn quantize(&mut self, float: String, scale: &str, zero: &str) -> String {
        let mut input = vec![float, scale.to_owned()];
        if !zero.is_empty() {
            input.push(zero.to_owned());
        }
        let output = self.node.output[0].clone();
        self.nodes.push(NodeProto {
            input,
            output: vec![output.clone()],
            name: self.name("quantize"),
            op_type: "QuantizeLinear".into(),
            ..Default::default()
        });
        output
    }
}

//! The int8 variant of the ONNX model: its projections multiplied in int8 by ONNX Runtime.
//!
//! The pinned all-MiniLM-L6-v2 export stores every projection's weights as int8 with one f32
//! scale per output column, and turns them back into f32 inside the graph
//! (`MatMul(x, Mul(Cast(W_q), s))`); ONNX Runtime folds that at load, so every product runs in
//! f32. [`int8_graph`] rewrites each such pattern into ONNX Runtime's
//! `com.microsoft.DynamicQuantizeMatMul(x, W_q, s, 0)`: the same int8 weights and scales (nothing
//! is quantised again), the activations quantised to uint8 per call, the product in integer
//! arithmetic (VNNI where the CPU has it). The only new error is the activations' rounding.
//!
//! Hand-written on the protobuf wire format rather than through a generated ONNX schema: only
//! the nodes it replaces are decoded and re-encoded; every other field of the model, including
//! ones this code knows nothing about, is copied byte for byte, so a newer exporter's fields
//! survive. The few message shapes it reads are `prost` structs of the fields it needs.

use std::collections::{HashMap, HashSet};

use prost::Message;

/// ONNX `TensorProto.DataType` values used here.
const FLOAT: i32 = 1;
const INT8: i32 = 3;

// Field numbers of onnx.proto (ModelProto, GraphProto) that the rewrite walks.
const MODEL_GRAPH: u32 = 7;
const MODEL_OPSET_IMPORT: u32 = 8;
const GRAPH_NODE: u32 = 1;
const GRAPH_INITIALIZER: u32 = 5;
const GRAPH_INPUT: u32 = 11;
const GRAPH_OUTPUT: u32 = 12;

/// The contrib-op domain of `DynamicQuantizeMatMul`.
const MS_DOMAIN: &str = "com.microsoft";

/// What [`int8_graph`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Int8Graph {
    /// The rewritten model (protobuf bytes, for `commit_from_memory`).
    pub model: Vec<u8>,
    /// How many matrix products now run in int8.
    pub matmuls: usize,
}

/// Rewrites an ONNX model (protobuf bytes) so that every `MatMul` whose weight is an int8
/// initializer times a per-column f32 scale runs as `DynamicQuantizeMatMul`. Errors are
/// descriptions of what in the file could not be read; a model with no such weights is an
/// error too (there is nothing to run in int8).
pub fn int8_graph(model: &[u8]) -> Result<Int8Graph, String> {
    let model_fields = fields(model).map_err(|e| format!("model: {e}"))?;
    let graph_field = single(&model_fields, MODEL_GRAPH).ok_or("the model has no graph")?;
    let graph = rewrite_graph(graph_field.payload)?;
    if graph.matmuls == 0 {
        return Err(
            "no MatMul has int8-stored weights with per-column scales: nothing to run in int8"
                .into(),
        );
    }
    let has_ms_opset = model_fields
        .iter()
        .filter(|f| f.number == MODEL_OPSET_IMPORT)
        .filter_map(|f| OperatorSetId::decode(f.payload).ok())
        .any(|o| o.domain == MS_DOMAIN);
    let mut out = Vec::with_capacity(model.len());
    for f in &model_fields {
        if f.number == MODEL_GRAPH {
            put_len_field(&mut out, MODEL_GRAPH, &graph.bytes);
        } else {
            out.extend_from_slice(f.raw);
        }
    }
    if !has_ms_opset {
        let opset = OperatorSetId {
            domain: MS_DOMAIN.into(),
            version: 1,
        };
        put_len_field(&mut out, MODEL_OPSET_IMPORT, &opset.encode_to_vec());
    }
    Ok(Int8Graph {
        model: out,
        matmuls: graph.matmuls,
    })
}

struct RewrittenGraph {
    bytes: Vec<u8>,
    matmuls: usize,
}

/// One `MatMul(x, Mul(Cast(W_q), s))` found in the graph, by node position.
struct Pattern {
    matmul: usize,
    mul: usize,
    cast: usize,
    weight: String,
    scale: Vec<u8>,
    columns: usize,
}

fn rewrite_graph(graph: &[u8]) -> Result<RewrittenGraph, String> {
    let graph_fields = fields(graph).map_err(|e| format!("graph: {e}"))?;
    let mut nodes = Vec::new();
    let mut node_field = Vec::new();
    let mut inits: HashMap<String, usize> = HashMap::new();
    // Every value name in use, so the initializers added below get fresh ones.
    let mut names: HashSet<String> = HashSet::new();
    let mut graph_outputs: HashSet<String> = HashSet::new();
    for (i, f) in graph_fields.iter().enumerate() {
        match f.number {
            GRAPH_NODE => {
                let node = Node::decode(f.payload).map_err(|e| format!("node: {e}"))?;
                names.extend(node.output.iter().cloned());
                nodes.push(node);
                node_field.push(i);
            }
            GRAPH_INITIALIZER => {
                let t = TensorName::decode(f.payload).map_err(|e| format!("initializer: {e}"))?;
                names.insert(t.name.clone());
                inits.insert(t.name, i);
            }
            GRAPH_INPUT | GRAPH_OUTPUT => {
                let v = ValueName::decode(f.payload).map_err(|e| format!("graph io: {e}"))?;
                names.insert(v.name.clone());
                if f.number == GRAPH_OUTPUT {
                    graph_outputs.insert(v.name);
                }
            }
            _ => {}
        }
    }
    let producer: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect();
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for n in &nodes {
        for input in &n.input {
            *uses.entry(input.as_str()).or_default() += 1;
        }
    }
    let tensor = |name: &str| -> Option<Tensor> {
        let field = graph_fields.get(*inits.get(name)?)?;
        Tensor::decode(field.payload).ok()
    };

    let mut patterns = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if n.op_type != "MatMul" || !n.domain.is_empty() || n.input.len() != 2 {
            continue;
        }
        if let Some(p) = match_pattern(i, &nodes, &producer, &tensor) {
            patterns.push(p);
        }
    }

    let mut replaced: HashMap<usize, Vec<u8>> = HashMap::new();
    let mut dropped: HashSet<usize> = HashSet::new();
    let mut new_inits: Vec<Vec<u8>> = Vec::new();
    for p in &patterns {
        let matmul = &nodes[p.matmul];
        let base = if matmul.name.is_empty() {
            &matmul.output[0]
        } else {
            &matmul.name
        };
        let scale_name = fresh(&mut names, &format!("{base}_int8_scale"));
        let zero_name = fresh(&mut names, &format!("{base}_int8_zero_point"));
        let columns = i64::try_from(p.columns).map_err(|_| "too many columns".to_owned())?;
        new_inits.push(
            Tensor {
                dims: vec![columns],
                data_type: FLOAT,
                name: scale_name.clone(),
                raw_data: p.scale.clone(),
                ..Tensor::default()
            }
            .encode_to_vec(),
        );
        new_inits.push(
            Tensor {
                dims: vec![columns],
                data_type: INT8,
                name: zero_name.clone(),
                raw_data: vec![0; p.columns],
                ..Tensor::default()
            }
            .encode_to_vec(),
        );
        let node = Node {
            input: vec![
                matmul.input[0].clone(),
                p.weight.clone(),
                scale_name,
                zero_name,
            ],
            output: matmul.output.clone(),
            name: matmul.name.clone(),
            op_type: "DynamicQuantizeMatMul".into(),
            attribute: Vec::new(),
            domain: MS_DOMAIN.into(),
        };
        replaced.insert(node_field[p.matmul], node.encode_to_vec());
        // The dequantising Cast and Mul go when nothing else reads them, so ONNX Runtime does
        // not fold an f32 copy of the weights that no node uses.
        let only_here = |node: usize| {
            nodes[node]
                .output
                .iter()
                .all(|o| uses.get(o.as_str()) == Some(&1) && !graph_outputs.contains(o))
        };
        if only_here(p.mul) && only_here(p.cast) {
            dropped.insert(node_field[p.mul]);
            dropped.insert(node_field[p.cast]);
        }
    }

    let mut out = Vec::with_capacity(graph.len());
    for (i, f) in graph_fields.iter().enumerate() {
        if let Some(node) = replaced.get(&i) {
            put_len_field(&mut out, GRAPH_NODE, node);
        } else if !dropped.contains(&i) {
            out.extend_from_slice(f.raw);
        }
    }
    for t in &new_inits {
        put_len_field(&mut out, GRAPH_INITIALIZER, t);
    }
    Ok(RewrittenGraph {
        bytes: out,
        matmuls: patterns.len(),
    })
}

/// `MatMul(x, Mul(Cast(W_q → float), s))` (the Mul's operands in either order) with `W_q` an
/// int8 `[K, N]` initializer and `s` an f32 `[1, N]` or `[N]` initializer.
fn match_pattern(
    matmul: usize,
    nodes: &[Node],
    producer: &HashMap<&str, usize>,
    tensor: &dyn Fn(&str) -> Option<Tensor>,
) -> Option<Pattern> {
    let mul = *producer.get(nodes[matmul].input[1].as_str())?;
    let m = &nodes[mul];
    if m.op_type != "Mul" || !m.domain.is_empty() || m.input.len() != 2 {
        return None;
    }
    let (cast, scale_name) = match (
        producer.get(m.input[0].as_str()),
        producer.get(m.input[1].as_str()),
    ) {
        (Some(&c), None) => (c, &m.input[1]),
        (None, Some(&c)) => (c, &m.input[0]),
        _ => return None,
    };
    let c = &nodes[cast];
    let to_float = c
        .attribute
        .iter()
        .any(|a| a.name == "to" && a.i == i64::from(FLOAT));
    if c.op_type != "Cast" || !c.domain.is_empty() || c.input.len() != 1 || !to_float {
        return None;
    }
    let weight = tensor(&c.input[0])?;
    let [_, n] = weight.dims[..] else { return None };
    let columns = usize::try_from(n).ok().filter(|&n| n > 0)?;
    if weight.data_type != INT8 || weight.data_location != 0 {
        return None;
    }
    let scale = tensor(scale_name)?;
    let shape_ok = scale.dims == [1, n] || scale.dims == [n];
    if scale.data_type != FLOAT || !shape_ok {
        return None;
    }
    let scale_bytes = if scale.raw_data.is_empty() {
        scale
            .float_data
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    } else {
        scale.raw_data
    };
    if scale_bytes.len() != columns * 4 {
        return None;
    }
    Some(Pattern {
        matmul,
        mul,
        cast,
        weight: c.input[0].clone(),
        scale: scale_bytes,
        columns,
    })
}

/// `want`, or `want_2`, `want_3`… if the graph already uses it; recorded as used.
fn fresh(names: &mut HashSet<String>, want: &str) -> String {
    let mut name = want.to_owned();
    let mut k = 2;
    while names.contains(&name) {
        name = format!("{want}_{k}");
        k += 1;
    }
    names.insert(name.clone());
    name
}

// ---- The protobuf wire format, as far as copying fields through needs it. ----

/// One field of a message: its number, its bytes as they stand (key included) and, for a
/// length-delimited field, its payload (empty for the other wire types).
struct Field<'a> {
    number: u32,
    raw: &'a [u8],
    payload: &'a [u8],
}

/// The first field numbered `number`, if exactly one has that number.
fn single<'f, 'a>(fields: &'f [Field<'a>], number: u32) -> Option<&'f Field<'a>> {
    let mut it = fields.iter().filter(|f| f.number == number);
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint longer than 10 bytes".into())
}

/// Splits a message into its fields without decoding them.
fn fields(buf: &[u8]) -> Result<Vec<Field<'_>>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let start = pos;
        let key = varint(buf, &mut pos)?;
        let number = u32::try_from(key >> 3).map_err(|_| "field number out of range")?;
        let payload = match key & 7 {
            0 => {
                varint(buf, &mut pos)?;
                &buf[..0]
            }
            1 => take(buf, &mut pos, 8).map(|_| &buf[..0])?,
            2 => {
                let len = varint(buf, &mut pos)?;
                let len = usize::try_from(len).map_err(|_| "field length out of range")?;
                take(buf, &mut pos, len)?
            }
            5 => take(buf, &mut pos, 4).map(|_| &buf[..0])?,
            other => return Err(format!("unsupported wire type {other}")),
        };
        out.push(Field {
            number,
            raw: &buf[start..pos],
            payload,
        });
    }
    Ok(out)
}

/// The next `len` bytes at `pos`, which moves past them.
fn take<'a>(buf: &'a [u8], pos: &mut usize, len: usize) -> Result<&'a [u8], String> {
    let end = pos
        .checked_add(len)
        .filter(|&e| e <= buf.len())
        .ok_or("truncated field")?;
    let bytes = &buf[*pos..end];
    *pos = end;
    Ok(bytes)
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_len_field(out: &mut Vec<u8>, number: u32, payload: &[u8]) {
    put_varint(out, (u64::from(number) << 3) | 2);
    put_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

// ---- The fields of onnx.proto messages that the rewrite reads or writes. ----

/// `NodeProto`, as far as matching and the replacement node need.
#[derive(Clone, PartialEq, Message)]
struct Node {
    #[prost(string, repeated, tag = "1")]
    input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(string, tag = "4")]
    op_type: String,
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<Attribute>,
    #[prost(string, tag = "7")]
    domain: String,
}

/// `AttributeProto`: the name and the integer value (Cast's `to`).
#[derive(Clone, PartialEq, Message)]
struct Attribute {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int64, tag = "3")]
    i: i64,
}

/// `TensorProto`: shape, type, name and the two data encodings a scale may use.
#[derive(Clone, PartialEq, Message)]
struct Tensor {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
    /// 0 = the data is in the file, 1 = external.
    #[prost(int32, tag = "14")]
    data_location: i32,
}

/// `TensorProto`'s name alone (reading every initializer's data would copy the whole model).
#[derive(Clone, PartialEq, Message)]
struct TensorName {
    #[prost(string, tag = "8")]
    name: String,
}

/// `ValueInfoProto`'s name.
#[derive(Clone, PartialEq, Message)]
struct ValueName {
    #[prost(string, tag = "1")]
    name: String,
}

/// `OperatorSetIdProto`.
#[derive(Clone, PartialEq, Message)]
struct OperatorSetId {
    #[prost(string, tag = "1")]
    domain: String,
    #[prost(int64, tag = "2")]
    version: i64,
}

#[cfg(test)]
mod tests;

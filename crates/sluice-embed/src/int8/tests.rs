//! The rewrite on small hand-built graphs: what is replaced, what is kept byte for byte, and
//! that damaged input is an error, never a panic. (The real model, run by ONNX Runtime, is
//! checked against the f32 model in tests/it/int8.rs.)

#![allow(clippy::unwrap_used)]

use super::*;

fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<Attribute>) -> Vec<u8> {
    Node {
        input: inputs.iter().map(|s| (*s).to_owned()).collect(),
        output: outputs.iter().map(|s| (*s).to_owned()).collect(),
        name: format!("{op}_{}", outputs[0]),
        op_type: op.into(),
        attribute: attrs,
        domain: String::new(),
    }
    .encode_to_vec()
}

fn cast_to_float() -> Vec<Attribute> {
    vec![Attribute {
        name: "to".into(),
        i: i64::from(FLOAT),
    }]
}

fn tensor(name: &str, dims: &[i64], data_type: i32, raw: Vec<u8>) -> Vec<u8> {
    Tensor {
        dims: dims.to_vec(),
        data_type,
        name: name.into(),
        raw_data: raw,
        ..Tensor::default()
    }
    .encode_to_vec()
}

fn value(name: &str) -> Vec<u8> {
    ValueName { name: name.into() }.encode_to_vec()
}

/// A field this code does not know (number 99), to check it is copied through.
fn unknown(out: &mut Vec<u8>) {
    put_len_field(out, 99, b"kept as is");
}

/// `y = MatMul(x, Mul(Cast(w_q), s))` with `w_q` int8 [2, 3] and `s` f32 [1, 3]; `extra_use`
/// adds a node that also reads the Cast's output.
fn model(extra_use: bool) -> Vec<u8> {
    let mut graph = Vec::new();
    put_len_field(
        &mut graph,
        GRAPH_NODE,
        &node("Cast", &["w_q"], &["w_f"], cast_to_float()),
    );
    put_len_field(
        &mut graph,
        GRAPH_NODE,
        &node("Mul", &["w_f", "s"], &["w"], vec![]),
    );
    put_len_field(
        &mut graph,
        GRAPH_NODE,
        &node("MatMul", &["x", "w"], &["y"], vec![]),
    );
    if extra_use {
        put_len_field(
            &mut graph,
            GRAPH_NODE,
            &node("Identity", &["w_f"], &["w_copy"], vec![]),
        );
    }
    let scale: Vec<u8> = [0.5f32, 0.25, 2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    put_len_field(
        &mut graph,
        GRAPH_INITIALIZER,
        &tensor("w_q", &[2, 3], INT8, vec![1, 2, 3, 4, 5, 6]),
    );
    put_len_field(
        &mut graph,
        GRAPH_INITIALIZER,
        &tensor("s", &[1, 3], FLOAT, scale),
    );
    put_len_field(&mut graph, GRAPH_INPUT, &value("x"));
    put_len_field(&mut graph, GRAPH_OUTPUT, &value("y"));
    unknown(&mut graph);
    let mut model = Vec::new();
    put_varint(&mut model, 1 << 3); // ir_version = 8, a varint field
    put_varint(&mut model, 8);
    put_len_field(&mut model, MODEL_GRAPH, &graph);
    let opset = OperatorSetId {
        domain: String::new(),
        version: 17,
    };
    put_len_field(&mut model, MODEL_OPSET_IMPORT, &opset.encode_to_vec());
    unknown(&mut model);
    model
}

struct Parsed {
    nodes: Vec<Node>,
    inits: Vec<Tensor>,
    opsets: Vec<OperatorSetId>,
    model_unknown: usize,
    graph_unknown: usize,
}

fn parse(model: &[u8]) -> Parsed {
    let model_fields = fields(model).unwrap();
    let graph = single(&model_fields, MODEL_GRAPH).unwrap();
    let graph_fields = fields(graph.payload).unwrap();
    let of = |n: u32| graph_fields.iter().filter(move |f| f.number == n);
    Parsed {
        nodes: of(GRAPH_NODE)
            .map(|f| Node::decode(f.payload).unwrap())
            .collect(),
        inits: of(GRAPH_INITIALIZER)
            .map(|f| Tensor::decode(f.payload).unwrap())
            .collect(),
        opsets: model_fields
            .iter()
            .filter(|f| f.number == MODEL_OPSET_IMPORT)
            .map(|f| OperatorSetId::decode(f.payload).unwrap())
            .collect(),
        model_unknown: model_fields
            .iter()
            .filter(|f| f.number == 99 && f.payload == b"kept as is")
            .count(),
        graph_unknown: of(99).filter(|f| f.payload == b"kept as is").count(),
    }
}

#[test]
fn the_dequantising_matmul_becomes_one_int8_node_and_the_rest_is_copied() {
    let out = int8_graph(&model(false)).expect("rewrite");
    assert_eq!(out.matmuls, 1);
    let p = parse(&out.model);
    assert_eq!(p.nodes.len(), 1, "Cast and Mul are dropped: {:?}", p.nodes);
    let n = &p.nodes[0];
    assert_eq!(
        (n.op_type.as_str(), n.domain.as_str()),
        ("DynamicQuantizeMatMul", MS_DOMAIN)
    );
    assert_eq!(
        n.input,
        [
            "x",
            "w_q",
            "MatMul_y_int8_scale",
            "MatMul_y_int8_zero_point"
        ]
    );
    assert_eq!(n.output, ["y"]);
    assert_eq!(n.name, "MatMul_y");

    let scale = p
        .inits
        .iter()
        .find(|t| t.name == "MatMul_y_int8_scale")
        .unwrap();
    assert_eq!((scale.dims.as_slice(), scale.data_type), (&[3][..], FLOAT));
    let values: Vec<f32> = scale
        .raw_data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(values, [0.5, 0.25, 2.0]);
    let zero = p
        .inits
        .iter()
        .find(|t| t.name == "MatMul_y_int8_zero_point")
        .unwrap();
    assert_eq!(
        (
            zero.dims.as_slice(),
            zero.data_type,
            zero.raw_data.as_slice()
        ),
        (&[3][..], INT8, &[0u8, 0, 0][..])
    );
    let weight = p.inits.iter().find(|t| t.name == "w_q").unwrap();
    assert_eq!(
        weight.raw_data,
        [1, 2, 3, 4, 5, 6],
        "the int8 weights are used as they are"
    );

    let domains: Vec<(&str, i64)> = p
        .opsets
        .iter()
        .map(|o| (o.domain.as_str(), o.version))
        .collect();
    assert_eq!(domains, [("", 17), (MS_DOMAIN, 1)]);
    assert_eq!(
        (p.model_unknown, p.graph_unknown),
        (1, 1),
        "unknown fields survive"
    );
    // ir_version (a varint field) is still the model's first field.
    assert_eq!(&out.model[..2], &[1 << 3, 8]);
}

#[test]
fn a_dequantised_weight_read_elsewhere_keeps_its_nodes() {
    let out = int8_graph(&model(true)).expect("rewrite");
    let p = parse(&out.model);
    let ops: Vec<&str> = p.nodes.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["Cast", "Mul", "DynamicQuantizeMatMul", "Identity"]);
}

#[test]
fn new_names_never_shadow_existing_values() {
    let mut names: HashSet<String> =
        ["a_int8_scale".to_owned(), "a_int8_scale_2".to_owned()].into();
    assert_eq!(fresh(&mut names, "a_int8_scale"), "a_int8_scale_3");
    assert_eq!(fresh(&mut names, "b"), "b");
    assert!(names.contains("b"));
}

#[test]
fn a_model_without_int8_weights_is_an_error() {
    let mut graph = Vec::new();
    put_len_field(
        &mut graph,
        GRAPH_NODE,
        &node("MatMul", &["x", "w"], &["y"], vec![]),
    );
    put_len_field(
        &mut graph,
        GRAPH_INITIALIZER,
        &tensor("w", &[2, 2], FLOAT, vec![0; 16]),
    );
    let mut model = Vec::new();
    put_len_field(&mut model, MODEL_GRAPH, &graph);
    let err = int8_graph(&model).unwrap_err();
    assert!(err.contains("nothing to run in int8"), "{err}");
    assert_eq!(int8_graph(&[]).unwrap_err(), "the model has no graph");
}

#[test]
fn damaged_bytes_are_errors_not_panics() {
    let good = model(false);
    for cut in 0..good.len() {
        // Every prefix: an error or (where the cut falls between fields) a smaller model.
        let _ = int8_graph(&good[..cut]);
    }
    let mut flipped = good.clone();
    for i in 0..flipped.len() {
        flipped[i] ^= 0xff;
        let _ = int8_graph(&flipped);
        flipped[i] ^= 0xff;
    }
    assert!(int8_graph(&[0xff; 11]).is_err(), "an overlong varint");
    assert!(int8_graph(&[(7 << 3) | 3]).is_err(), "a group wire type");
}

//! The fused kernels: one pass over the inputs checks every element,
//! computes its cost (and gradient), writes the per-element outputs and
//! sums the costs.
//!
//! The input is cut into blocks of [`BLOCK`] elements, each a task for
//! rayon above [`PARALLEL_MIN`] elements. A block runs as groups of
//! [`LANES`] elements (the head), then the last partial group padded with
//! weight-0 elements (the tail). For `f64` inputs each group runs the
//! element program of [`program`] lane by lane and rounds each output once
//! to `T`. [`dispatch`] compiles the block loop for the best
//! instruction set of the CPU, and `crate::reduce` sums the costs in a fixed
//! order. The element checks run in the same loop, and only when a block
//! flags an invalid element does `check::first_invalid` scan again, from
//! that block, to name it. [`output`] hands each block its part of the
//! per-element outputs, and writes a new vector once.
//!
//! `f32` inputs run in `f32` lanes (`narrow`, 16 per AVX-512 vector):
//! the polynomials in `f32`, the targets, weights and the final combination
//! in `f64`, one rounding to `f32` at the end. Probabilities under
//! `ProbClamp::Epsilon` stay on the `f64` program, because a clipped
//! probability is not an `f32`. The logits gradient cancels
//! near its zero where a target is soft, so a group with a soft target takes
//! its gradient from the `f64` program. Each step of the block loop runs a
//! [`CHUNK`] of four groups, whose independent dependency chains overlap.
//!
//! Where every target of a chunk (or group, or padded tail) is 0 or 1 and
//! the options have no weights, no label smoothing and `pos_weight` 1, an
//! `f32` chunk runs `hard` instead: the cost entirely in `f32` lanes, one
//! `softplus` or `log` an element. Under the mean and sum, which need no
//! per-element cost, `hard_sum` takes one log per lane of a chunk, of the
//! product of that lane's factors.

mod compact;
pub mod dispatch;
mod hard;
mod hard_sum;
mod math;
mod narrow;
pub(crate) mod output;
mod program;
mod tables;

/// Helpers of the kernels' unit tests.
#[cfg(test)]
mod test_support {
    /// Returns the distance in `f32` ulp between an `f32` result and the `f64` value
    /// rounded to `f32`.
    pub(crate) fn ulps(actual: f32, expected: f64) -> u32 {
        let key = |v: f32| {
            let bits = v.to_bits() as i32;
            if bits < 0 {
                i32::MIN.wrapping_sub(bits)
            } else {
                bits
            }
        };
        key(actual).abs_diff(key(expected as f32))
    }
}

use rayon::prelude::*;

use crate::Loss;
use crate::check::{self, Form, Plan, ResolvedPosWeight};
use crate::error::BceError;
use crate::float::Float;
use crate::options::{ProbClamp, Reduction};
use crate::reduce::{BLOCK, LaneSum, pairwise};
use dispatch::{Isa, Job};
use output::{BlockOutput, NewOutput, Output};
use program::{Logits, Probs, Program};
use tables::Lookup;

/// Elements per group: the width of the lane loops. Fixed, whatever the
/// vector width of the CPU, so that the summation order is too.
pub(crate) const LANES: usize = 16;

/// Elements per step of the block loop: four groups, whose independent
/// dependency chains overlap in the CPU (one group at a time ran about 40%
/// slower). Sums still add group by group, in the same order.
const CHUNK: usize = 4 * LANES;

/// Below this many elements the kernels run on the calling thread; from it
/// on, blocks of 4096 elements are tasks of the current rayon pool.
pub const PARALLEL_MIN: usize = 1 << 15;

/// Inputs shared by every block.
struct Shared<'a, T, P> {
    program: P,
    values: &'a [T],
    targets: &'a [T],
    plan: &'a Plan<'a, T>,
    /// `1/n` for the mean's gradient, else 1.
    grad_scale: f64,
    /// Whether the options allow the hard-target path (`hard`): no
    /// weights, no label smoothing, `pos_weight` 1.
    hard_settings: bool,
}

/// Result of one block.
#[derive(Debug, Clone, Copy)]
struct BlockResult {
    sum: f64,
    invalid: bool,
}

/// Computes the loss of probabilities (validated options in `plan`).
pub(crate) fn probs_loss<T: Float>(
    probs: &[T],
    targets: &[T],
    plan: &Plan<'_, T>,
) -> Result<Loss<T>, BceError> {
    run(
        probs_program(plan.clamp),
        Form::Probs,
        (probs, targets),
        plan,
        Output::Unwanted,
    )
}

/// Computes the loss of logits (validated options in `plan`).
pub(crate) fn logits_loss<T: Float>(
    logits: &[T],
    targets: &[T],
    plan: &Plan<'_, T>,
) -> Result<Loss<T>, BceError> {
    run(
        Logits,
        Form::Logits,
        (logits, targets),
        plan,
        Output::Unwanted,
    )
}

/// Computes the loss of probabilities and writes its gradient into `grad`
/// (of the same length as `probs`, checked by the caller).
pub(crate) fn probs_loss_and_grad<T: Float>(
    probs: &[T],
    targets: &[T],
    plan: &Plan<'_, T>,
    grad: &mut [T],
) -> Result<Loss<T>, BceError> {
    run(
        probs_program(plan.clamp),
        Form::Probs,
        (probs, targets),
        plan,
        Output::Buffer(grad),
    )
}

/// Computes the loss of probabilities and returns it with its gradient in
/// a new vector.
pub(crate) fn probs_loss_and_new_grad<T: Float>(
    probs: &[T],
    targets: &[T],
    plan: &Plan<'_, T>,
) -> Result<(Loss<T>, Vec<T>), BceError> {
    let mut grad = NewOutput::new(probs.len());
    let loss = run(
        probs_program(plan.clamp),
        Form::Probs,
        (probs, targets),
        plan,
        Output::New(&mut grad),
    )?;
    Ok((loss, grad.finish()))
}

/// Computes the loss of logits and writes its gradient into `grad` (of the
/// same length as `logits`, checked by the caller).
pub(crate) fn logits_loss_and_grad<T: Float>(
    logits: &[T],
    targets: &[T],
    plan: &Plan<'_, T>,
    grad: &mut [T],
) -> Result<Loss<T>, BceError> {
    run(
        Logits,
        Form::Logits,
        (logits, targets),
        plan,
        Output::Buffer(grad),
    )
}

/// Computes the loss of logits and returns it with its gradient in a new
/// vector.
pub(crate) fn logits_loss_and_new_grad<T: Float>(
    logits: &[T],
    targets: &[T],
    plan: &Plan<'_, T>,
) -> Result<(Loss<T>, Vec<T>), BceError> {
    let mut grad = NewOutput::new(logits.len());
    let loss = run(
        Logits,
        Form::Logits,
        (logits, targets),
        plan,
        Output::New(&mut grad),
    )?;
    Ok((loss, grad.finish()))
}

fn probs_program(clamp: ProbClamp) -> Probs {
    match clamp {
        ProbClamp::LogMin(floor) => Probs {
            low: 0.0,
            high: 1.0,
            log_floor: floor,
        },
        ProbClamp::Epsilon(epsilon) => Probs {
            low: epsilon,
            high: 1.0 - epsilon,
            log_floor: f64::NEG_INFINITY,
        },
    }
}

/// Runs the pass over all blocks, writing the gradient into `grad`, then
/// names the first invalid element if any block found one. Per-element
/// costs are returned for `Reduction::None`.
fn run<T: Float, P: Program>(
    program: P,
    form: Form,
    (values, targets): (&[T], &[T]),
    plan: &Plan<'_, T>,
    grad: Output<'_, T>,
) -> Result<Loss<T>, BceError> {
    let len = values.len();
    let mut costs = (plan.reduction == Reduction::None).then(|| NewOutput::new(len));
    let shared = Shared {
        program,
        values,
        targets,
        plan,
        grad_scale: match plan.reduction {
            Reduction::Mean => 1.0 / len as f64,
            Reduction::Sum | Reduction::None => 1.0,
        },
        hard_settings: plan.weights.is_none()
            && plan.label_smoothing == 0.0
            && matches!(plan.pos_weight, ResolvedPosWeight::Scalar(value) if value == 1.0),
    };
    let isa = dispatch::current();

    let blocks = len.div_ceil(BLOCK);
    let cost_output = costs.as_mut().map_or(Output::Unwanted, Output::New);
    let (total, first_invalid) = if len >= PARALLEL_MIN {
        let results: Vec<BlockResult> = cost_output
            .par_blocks(blocks)
            .zip(grad.par_blocks(blocks))
            .enumerate()
            .map(|(index, (costs, grad))| run_block(&shared, isa, index * BLOCK, costs, grad))
            .collect();
        let sums: Vec<f64> = results.iter().map(|result| result.sum).collect();
        let first_invalid = results.iter().position(|result| result.invalid);
        (pairwise(&sums), first_invalid)
    } else {
        // Small inputs: on this thread, with no allocation beyond the
        // outputs; the same blocks and summation tree as above.
        let mut sums = [0.0; PARALLEL_MIN / BLOCK];
        let mut first_invalid = None;
        let block_outputs = cost_output.blocks(blocks).zip(grad.blocks(blocks));
        for (index, (sum, (costs, grad))) in sums.iter_mut().zip(block_outputs).enumerate() {
            let result = run_block(&shared, isa, index * BLOCK, costs, grad);
            *sum = result.sum;
            if result.invalid && first_invalid.is_none() {
                first_invalid = Some(index);
            }
        }
        (pairwise(&sums[..blocks]), first_invalid)
    };

    if let Some(first) = first_invalid {
        check::first_invalid(form, values, targets, plan.weights, first * BLOCK)?;
    }
    // `costs` is set for `Reduction::None` only.
    Ok(match costs {
        Some(costs) => Loss::PerElement(costs.finish()),
        None if plan.reduction == Reduction::Sum => Loss::Reduced(T::from_f64(total)),
        None => Loss::Reduced(T::from_f64(total / len as f64)),
    })
}

/// Runs one block under the dispatch, choosing the monomorphized loop:
/// `f32` lanes where the type and the program allow them.
fn run_block<T: Float, P: Program>(
    shared: &Shared<'_, T, P>,
    isa: Isa,
    start: usize,
    costs: Option<BlockOutput<'_, T>>,
    grad: Option<BlockOutput<'_, T>>,
) -> BlockResult {
    if T::NARROW && shared.program.narrow() {
        run_block_as::<T, P, true>(shared, isa, start, costs, grad)
    } else {
        run_block_as::<T, P, false>(shared, isa, start, costs, grad)
    }
}

/// [`run_block`] for one choice of lanes.
fn run_block_as<T: Float, P: Program, const NARROW: bool>(
    shared: &Shared<'_, T, P>,
    isa: Isa,
    start: usize,
    costs: Option<BlockOutput<'_, T>>,
    grad: Option<BlockOutput<'_, T>>,
) -> BlockResult {
    let weighted = shared.plan.weights.is_some();
    let job = |grad| BlockJob::<'_, '_, T, P, NARROW> {
        shared,
        start,
        costs,
        grad,
    };
    match (grad, weighted) {
        (Some(grad), true) => dispatch::run_job(isa, Variant::<_, true, true>(job(Some(grad)))),
        (Some(grad), false) => dispatch::run_job(isa, Variant::<_, true, false>(job(Some(grad)))),
        (None, true) => dispatch::run_job(isa, Variant::<_, false, true>(job(None))),
        (None, false) => dispatch::run_job(isa, Variant::<_, false, false>(job(None))),
    }
}

/// The arguments of one block's loop.
struct BlockJob<'s, 'a, T, P, const NARROW: bool> {
    shared: &'s Shared<'a, T, P>,
    start: usize,
    costs: Option<BlockOutput<'s, T>>,
    grad: Option<BlockOutput<'s, T>>,
}

/// A block's loop for one choice of gradient and weights.
struct Variant<J, const GRAD: bool, const WEIGHTED: bool>(J);

impl<T: Float, P: Program, const NARROW: bool, const GRAD: bool, const WEIGHTED: bool> Job
    for Variant<BlockJob<'_, '_, T, P, NARROW>, GRAD, WEIGHTED>
{
    type Output = BlockResult;

    #[inline(always)]
    fn run<L: Lookup>(self, lookup: L) -> BlockResult {
        let BlockJob {
            shared,
            start,
            costs,
            grad,
        } = self.0;
        block::<T, P, L, GRAD, WEIGHTED, NARROW>(shared, lookup, start, costs, grad)
    }
}

/// The block loop: chunks of [`CHUNK`] and then groups of [`LANES`] read
/// straight from the slices, then the last partial group copied into
/// padded arrays (valid values with weight 0, so they add nothing).
#[inline(always)]
fn block<
    T: Float,
    P: Program,
    L: Lookup,
    const GRAD: bool,
    const WEIGHTED: bool,
    const NARROW: bool,
>(
    shared: &Shared<'_, T, P>,
    lookup: L,
    start: usize,
    mut costs: Option<BlockOutput<'_, T>>,
    mut grad: Option<BlockOutput<'_, T>>,
) -> BlockResult {
    let end = (start + BLOCK).min(shared.values.len());
    let values = &shared.values[start..end];
    let targets = &shared.targets[start..end];
    let weights = match shared.plan.weights {
        Some(weights) if WEIGHTED => &weights[start..end],
        _ => &[],
    };
    let mut state = BlockState {
        sum: LaneSum::default(),
        invalid: [0; CHUNK],
        pos_weights: [1.0; CHUNK],
    };
    if let ResolvedPosWeight::Scalar(value) = shared.plan.pos_weight {
        state.pos_weights = [value; CHUNK];
    }

    let chunked = values.len() / CHUNK * CHUNK;
    let head = values.len() / LANES * LANES;
    let slices = (values, targets, weights);
    // Hard targets under the settings `hard` serves take that path, a
    // chunk or group at a time; the rest, and the tail, the general one.
    let hard = NARROW && !WEIGHTED && shared.hard_settings;
    for offset in (0..chunked).step_by(CHUNK) {
        if hard
            && hard_group::<T, P, L, GRAD, CHUNK>(
                shared,
                lookup,
                offset,
                (values, targets),
                &mut state.sum,
                (costs.as_mut(), grad.as_mut()),
            )
        {
            continue;
        }
        head_group::<T, P, GRAD, WEIGHTED, NARROW, CHUNK>(
            shared,
            (start, offset),
            slices,
            &mut state,
            (costs.as_mut(), grad.as_mut()),
        );
    }
    // The rest, under one chunk: on the hard path as one padded chunk,
    // whose groups overlap as a full chunk's do, when it spans more than one
    // group (a lone group costs less unpadded), else group by group.
    let rest = values.len() - chunked;
    let rest_served = rest > LANES
        && hard
        && hard_tail::<T, P, L, GRAD, CHUNK>(
            shared,
            lookup,
            (chunked, rest),
            (values, targets),
            &mut state.sum,
            (costs.as_mut(), grad.as_mut()),
        );
    if !rest_served {
        for offset in (chunked..head).step_by(LANES) {
            if hard
                && hard_group::<T, P, L, GRAD, LANES>(
                    shared,
                    lookup,
                    offset,
                    (values, targets),
                    &mut state.sum,
                    (costs.as_mut(), grad.as_mut()),
                )
            {
                continue;
            }
            head_group::<T, P, GRAD, WEIGHTED, NARROW, LANES>(
                shared,
                (start, offset),
                slices,
                &mut state,
                (costs.as_mut(), grad.as_mut()),
            );
        }

        let count = values.len() - head;
        let tail_served = count > 0
            && hard
            && hard_tail::<T, P, L, GRAD, LANES>(
                shared,
                lookup,
                (head, count),
                (values, targets),
                &mut state.sum,
                (costs.as_mut(), grad.as_mut()),
            );
        if count > 0 && !tail_served {
            let neutral_value = T::from_f64(0.5);
            let zero = T::from_f64(0.0);
            let mut tail_values = [neutral_value; LANES];
            let mut tail_targets = [zero; LANES];
            let mut tail_weights = [zero; LANES];
            tail_values[..count].copy_from_slice(&values[head..]);
            tail_targets[..count].copy_from_slice(&targets[head..]);
            match shared.plan.weights {
                Some(_) if WEIGHTED => tail_weights[..count].copy_from_slice(&weights[head..]),
                _ => tail_weights[..count].fill(T::from_f64(1.0)),
            }
            per_class_pos_weights(shared, start + head, &mut state.pos_weights);
            let mut cost = [0.0; LANES];
            let mut element_grad = [0.0; LANES];
            // The tail always reads its weights, so that padding lanes weigh 0.
            group_lanes::<T, P, GRAD, true, NARROW, LANES>(
                shared,
                (&tail_values, &tail_targets, &tail_weights),
                &mut state,
                (&mut cost, &mut element_grad),
            );
            store(costs.as_mut(), head, &cost[..count]);
            store(grad.as_mut(), head, &element_grad[..count]);
        }
    }
    costs.into_iter().chain(grad).for_each(BlockOutput::close);
    BlockResult {
        sum: state.sum.total(),
        invalid: state.invalid.iter().any(|&flag| flag != 0),
    }
}

/// Runs the `W` elements of a block from `offset` (`W` a multiple of
/// [`LANES`]) and stores their outputs.
#[inline(always)]
fn head_group<
    T: Float,
    P: Program,
    const GRAD: bool,
    const WEIGHTED: bool,
    const NARROW: bool,
    const W: usize,
>(
    shared: &Shared<'_, T, P>,
    (start, offset): (usize, usize),
    (values, targets, weights): (&[T], &[T], &[T]),
    state: &mut BlockState,
    (costs, grad): (
        Option<&mut BlockOutput<'_, T>>,
        Option<&mut BlockOutput<'_, T>>,
    ),
) {
    let group = offset..offset + W;
    let group_weights = if WEIGHTED {
        &weights[group.clone()]
    } else {
        &[]
    };
    per_class_pos_weights(shared, start + offset, &mut state.pos_weights);
    let mut cost = [0.0; W];
    let mut element_grad = [0.0; W];
    group_lanes::<T, P, GRAD, WEIGHTED, NARROW, W>(
        shared,
        (&values[group.clone()], &targets[group], group_weights),
        state,
        (&mut cost, &mut element_grad),
    );
    store(costs, offset, &cost);
    store(grad, offset, &element_grad);
}

/// Runs the `W` elements of a block from `offset` on the hard-target path
/// (`hard`), stores their outputs and adds their costs to `sum`. Returns
/// `false`, with nothing written, where that path does not serve them.
#[inline(always)]
fn hard_group<T: Float, P: Program, L: Lookup, const GRAD: bool, const W: usize>(
    shared: &Shared<'_, T, P>,
    lookup: L,
    offset: usize,
    (values, targets): (&[T], &[T]),
    sum: &mut LaneSum,
    outputs: (
        Option<&mut BlockOutput<'_, T>>,
        Option<&mut BlockOutput<'_, T>>,
    ),
) -> bool {
    let group = offset..offset + W;
    let inputs = (&values[group.clone()], &targets[group]);
    hard_lanes::<T, P, L, GRAD, W>(shared, lookup, inputs, (offset, W), sum, outputs)
}

/// Runs the last `count` elements of a block from `offset`, padded to `W`
/// with valid values and hard targets, on the hard-target path, as
/// [`hard_group`] does. Padding lanes add nothing to `sum`.
#[inline(always)]
fn hard_tail<T: Float, P: Program, L: Lookup, const GRAD: bool, const W: usize>(
    shared: &Shared<'_, T, P>,
    lookup: L,
    (offset, count): (usize, usize),
    (values, targets): (&[T], &[T]),
    sum: &mut LaneSum,
    outputs: (
        Option<&mut BlockOutput<'_, T>>,
        Option<&mut BlockOutput<'_, T>>,
    ),
) -> bool {
    let zero = T::from_f64(0.0);
    let mut tail_values = [T::from_f64(0.5); W];
    let mut tail_targets = [zero; W];
    tail_values[..count].copy_from_slice(&values[offset..offset + count]);
    tail_targets[..count].copy_from_slice(&targets[offset..offset + count]);
    let inputs = (&tail_values[..], &tail_targets[..]);
    hard_lanes::<T, P, L, GRAD, W>(shared, lookup, inputs, (offset, count), sum, outputs)
}

/// Runs `W` elements on the hard-target path, of which the first `valid`
/// are stored from `offset` and added to `sum`: per element where the
/// costs are wanted, else summed by lane (`hard_sum`). Returns `false`,
/// with nothing written, where that path does not serve them.
#[inline(always)]
fn hard_lanes<T: Float, P: Program, L: Lookup, const GRAD: bool, const W: usize>(
    shared: &Shared<'_, T, P>,
    lookup: L,
    (values, targets): (&[T], &[T]),
    (offset, valid): (usize, usize),
    sum: &mut LaneSum,
    (costs, grad): (
        Option<&mut BlockOutput<'_, T>>,
        Option<&mut BlockOutput<'_, T>>,
    ),
) -> bool {
    let values = &values[..W];
    let targets = &targets[..W];
    // Loops, not `array::from_fn`, which may not inline into the function
    // compiled for the instruction set.
    let mut narrow_values = [0.0_f32; W];
    let mut narrow_targets = [0.0_f32; W];
    for j in 0..W {
        narrow_values[j] = values[j].to_f32();
        narrow_targets[j] = targets[j].to_f32();
    }
    let inputs = (&narrow_values, &narrow_targets);
    let mut element_grad = [0.0_f32; W];
    let served = if let Some(costs) = costs {
        let mut cost = [0.0_f32; W];
        let served = shared.program.group_hard::<GRAD, L, W>(
            lookup,
            inputs.0,
            inputs.1,
            shared.grad_scale,
            &mut cost,
            &mut element_grad,
        );
        if served {
            cost[valid..].fill(0.0);
            let mut wide_cost = [0.0_f64; W];
            for j in 0..W {
                wide_cost[j] = f64::from(cost[j]);
            }
            store(Some(costs), offset, &wide_cost[..valid]);
            for group in wide_cost.chunks_exact(LANES) {
                sum.add(group);
            }
        }
        served
    } else {
        let lane_sums = shared.program.group_hard_sum::<GRAD, L, W>(
            lookup,
            inputs.0,
            inputs.1,
            valid,
            shared.grad_scale,
            &mut element_grad,
        );
        if let Some(lane_sums) = lane_sums {
            sum.add(&lane_sums);
        }
        lane_sums.is_some()
    };
    if served && GRAD {
        store_narrow(grad, offset, &element_grad[..valid]);
    }
    served
}

/// Accumulators of one block.
struct BlockState {
    sum: LaneSum,
    /// Nonzero where a lane saw an invalid value, target or weight.
    invalid: [u32; CHUNK],
    /// `pos_weight` of each lane of the current chunk or group.
    pos_weights: [f64; CHUNK],
}

/// Fills the lanes' `pos_weight` for a chunk starting at element `first`,
/// when it is per class (a scalar one is filled once per block).
#[inline(always)]
fn per_class_pos_weights<T: Float, P>(
    shared: &Shared<'_, T, P>,
    first: usize,
    pos_weights: &mut [f64; CHUNK],
) {
    if let ResolvedPosWeight::PerClass(classes) = shared.plan.pos_weight {
        for (j, pos_weight) in pos_weights.iter_mut().enumerate() {
            *pos_weight = classes[(first + j) % classes.len()].to_f64();
        }
    }
}

/// Rounds `values` into `output` from `offset`, when the output is wanted.
#[inline(always)]
fn store<T: Float>(output: Option<&mut BlockOutput<'_, T>>, offset: usize, values: &[f64]) {
    if let Some(output) = output {
        output.write(offset, values.iter().map(|&value| T::from_f64(value)));
    }
}

/// Writes `f32` `values` into `output` from `offset`, when the output is
/// wanted (exactly, for either element type).
#[inline(always)]
fn store_narrow<T: Float>(output: Option<&mut BlockOutput<'_, T>>, offset: usize, values: &[f32]) {
    if let Some(output) = output {
        output.write(
            offset,
            values.iter().map(|&value| T::from_f64(f64::from(value))),
        );
    }
}

/// Runs the element program on one group of [`LANES`] elements, weights
/// the results, adds the costs to the block sum and flags invalid lanes.
/// `weights` is empty unless `WEIGHTED`. With `NARROW` the program runs on
/// the whole group in `f32` lanes.
#[inline(always)]
fn group_lanes<
    T: Float,
    P: Program,
    const GRAD: bool,
    const WEIGHTED: bool,
    const NARROW: bool,
    const W: usize,
>(
    shared: &Shared<'_, T, P>,
    (values, targets, weights): (&[T], &[T], &[T]),
    state: &mut BlockState,
    (cost, grad): (&mut [f64; W], &mut [f64; W]),
) {
    let values = &values[..W];
    let targets = &targets[..W];
    let weights = if WEIGHTED { &weights[..W] } else { weights };
    let smoothing = shared.plan.label_smoothing;
    let mut negative = [0.0; W];
    let mut positive = [0.0; W];
    let mut weight = [1.0; W];
    // Nonzero where a lane's target is soft (both coefficients nonzero).
    let mut soft = [0_u32; W];
    for j in 0..W {
        let value = values[j].to_f64();
        let raw_target = targets[j].to_f64();
        let target = check::smooth_target(raw_target, smoothing);
        if WEIGHTED {
            weight[j] = weights[j].to_f64();
        }
        negative[j] = 1.0 - target;
        positive[j] = state.pos_weights[j] * target;
        if GRAD && P::NARROW_GRAD_HARD_ONLY {
            soft[j] = u32::from(negative[j] != 0.0) & u32::from(positive[j] != 0.0);
        }
        let bad_weight = WEIGHTED && !(0.0..f64::INFINITY).contains(&weight[j]);
        // The range check is on the target as given: smoothing maps some
        // targets outside [0, 1] into it.
        let bad = P::invalid_value(value) | !(0.0..=1.0).contains(&raw_target) | bad_weight;
        state.invalid[j] |= u32::from(bad);
    }

    if NARROW {
        let narrow_values: [f32; W] = core::array::from_fn(|j| values[j].to_f32());
        shared
            .program
            .group_narrow::<GRAD, W>(&narrow_values, (&negative, &positive), cost, grad);
        if GRAD && P::NARROW_GRAD_HARD_ONLY && soft.iter().fold(0, |any, &flag| any | flag) != 0 {
            // The narrow gradient cancels where a target is soft.
            for j in 0..W {
                grad[j] = shared
                    .program
                    .element::<true>(values[j].to_f64(), negative[j], positive[j], false)
                    .grad;
            }
        }
    } else {
        for j in 0..W {
            let element = shared.program.element::<GRAD>(
                values[j].to_f64(),
                negative[j],
                positive[j],
                T::F64_RESULTS,
            );
            cost[j] = element.cost;
            grad[j] = element.grad;
        }
    }

    for j in 0..W {
        // A zero weight removes the element, even where its cost is +∞.
        let removed = weight[j] == 0.0;
        cost[j] = if removed { 0.0 } else { weight[j] * cost[j] };
        if GRAD {
            grad[j] = if removed {
                0.0
            } else {
                weight[j] * grad[j] * shared.grad_scale
            };
        }
    }
    for group in cost.chunks_exact(LANES) {
        state.sum.add(group);
    }
}

//! The flex backend operation behind [`super::FusedAdam`]: it hands the four buffers
//! of a parameter to the host kernel and returns the updated tensors.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use crate::flex_host;

use super::kernel::{self, AdamScalars};

/// Applies one Adam step to `param` and returns it with the updated moments. All four tensors
/// are `f32` of one shape on a flex device without autodiff; the
/// optimizer checks that first.
pub(crate) fn update<const D: usize>(
    param: Tensor<D>,
    grad: Tensor<D>,
    moment_1: Tensor<D>,
    moment_2: Tensor<D>,
    scalars: AdamScalars,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    let s = scalars;
    let (param, moment_1, moment_2) = <Dispatch as FusedAdamBackend>::fused_adam(
        param.into_dispatch(),
        grad.into_dispatch(),
        moment_1.into_dispatch(),
        moment_2.into_dispatch(),
        [
            s.beta_1,
            s.beta_2,
            s.one_minus_beta_1,
            s.one_minus_beta_2,
            s.step_factor,
            s.denominator_term,
            s.lr,
        ],
        s.first,
    );
    (
        Tensor::from_dispatch(param),
        Tensor::from_dispatch(moment_1),
        Tensor::from_dispatch(moment_2),
    )
}

/// One Adam step of a parameter on the host.
#[backend_extension(Flex)]
pub(crate) trait FusedAdamBackend: Backend {
    /// Returns `param`, `moment_1` and `moment_2` after one step with `grad`. `constants` are
    /// the fields of [`AdamScalars`] in declaration order, and `first` is its `first`.
    fn fused_adam(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        constants: [f32; 7],
        first: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

impl FusedAdamBackend for Flex {
    fn fused_adam(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        constants: [f32; 7],
        first: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let [
            beta_1,
            beta_2,
            one_minus_beta_1,
            one_minus_beta_2,
            step_factor,
            denominator_term,
            lr,
        ] = constants;
        let scalars = AdamScalars {
            beta_1,
            beta_2,
            one_minus_beta_1,
            one_minus_beta_2,
            step_factor,
            denominator_term,
            lr,
            first,
        };
        let mut param = flex_host::dense(param);
        let grad = flex_host::dense(grad);
        let mut moment_1 = flex_host::dense(moment_1);
        let mut moment_2 = flex_host::dense(moment_2);
        kernel::update(
            param.storage_mut::<f32>(),
            grad.storage::<f32>(),
            moment_1.storage_mut::<f32>(),
            moment_2.storage_mut::<f32>(),
            &scalars,
        );
        (param, moment_1, moment_2)
    }
}

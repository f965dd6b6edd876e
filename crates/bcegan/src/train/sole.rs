//! A network held in one place, so that its optimizer step can own the only copy.

use std::ops::Deref;

/// Holds a module that is moved out only while [`Sole::update`] runs.
///
/// burn's optimizers take the module by value. Passing them a clone leaves two references
/// to every parameter tensor, so the fused Adam step copies each tensor before writing
/// it: about 2 % of the MLP training step on one thread. Moving the module in avoids that copy.
#[derive(Debug)]
pub(crate) struct Sole<M>(Option<M>);

impl<M> Sole<M> {
    /// Holds `module`.
    pub fn new(module: M) -> Self {
        Self(Some(module))
    }

    /// Passes the module by value to `update` and keeps the module it returns.
    pub fn update(&mut self, update: impl FnOnce(M) -> M) {
        if let Some(module) = self.0.take() {
            self.0 = Some(update(module));
        }
    }
}

impl<M> Deref for Sole<M> {
    type Target = M;

    fn deref(&self) -> &M {
        // `update` puts a module back before it returns. Only a panic inside it leaves the
        // slot empty, and that panic has already ended the step.
        self.0
            .as_ref()
            .expect("the module is only absent while its update runs")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn update_receives_the_only_reference() {
        let mut slot = Sole::new(Arc::new(1));
        slot.update(|module| {
            assert_eq!(Arc::strong_count(&module), 1);
            Arc::new(*module + 1)
        });
        assert_eq!(**slot, 2);
    }
}

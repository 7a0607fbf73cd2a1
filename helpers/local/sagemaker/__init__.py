"""The local SageMaker: the operations moto lacks or only fakes (Ground Truth, training, UI)."""

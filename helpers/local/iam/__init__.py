"""The local IAM additions: policy evaluation, SimulatePrincipalPolicy, acting as a role."""

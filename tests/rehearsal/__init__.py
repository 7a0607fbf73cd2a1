"""The aws-mode rehearsal: loopback stand-ins of an AWS account and a KFP cluster.

`account` writes the standard AWS configuration a user with an account has (a profile with an
`endpoint_url`, credentials) pointing at a local AWS; `cluster` is a KFP v2beta1 API that runs
the pipelines it is given; `guard/sitecustomize.py` refuses and records any connection to a
non-loopback address from the processes it is loaded into.
"""

"""synthgen.training"""

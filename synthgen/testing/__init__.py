"""synthgen.testing"""

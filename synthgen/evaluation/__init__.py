"""synthgen.evaluation"""

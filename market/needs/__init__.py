"""The SME side: organisation profiles (factory, equipment, systems, maturity) and needs (需求)."""

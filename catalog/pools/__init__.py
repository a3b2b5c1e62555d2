"""Resource pools (资源池): curators vet providers into named pools and list them."""

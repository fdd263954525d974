from asgi_matrix.cli import main

main()

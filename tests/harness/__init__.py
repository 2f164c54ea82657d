"""Test harness: throwaway certificates, Distribution registries and a Docker token server."""

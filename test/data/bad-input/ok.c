/* Compiles cleanly; the bad-input scenarios that must get past the reproducer check point here. */
int main(void) { return 0; }

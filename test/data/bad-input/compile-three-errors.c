/* Does not compile: three undeclared identifiers in three functions (one error each). */
static int a(void) { return first_undeclared; }
static int b(void) { return second_undeclared; }

int main(void)
{
	return a() + b() + third_undeclared;
}

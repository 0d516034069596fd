/* Does not compile: the harness must point at this file and line 5. */
#include <stdio.h>
int main(void)
{
	return undeclared_thing;
}
